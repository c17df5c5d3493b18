"""Longshot models. `core/` is the world-agnostic library a new world reuses (U-ViT, schedule, sampler twin,
checkpoints, training loop, export helpers); each world is a package beside it with its data, judge, conditioning,
trainers and configs: `shapesworld/` (the procedural world of the bundled model) and `footage/` (camera footage)."""
