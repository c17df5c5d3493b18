"""ShapesWorld v1: the procedural world the bundled model learns (its spec: ../shared/specs/shapesworld.md, beside the
repository), with everything only it uses: its renderer, grammar and judge, the scene-state autoencoder and its
footage reading, the latent U-ViT's slot and edge conditioning (scene_uvit.py), checkpoints, trainers, configs and
export. It builds on models/core."""
