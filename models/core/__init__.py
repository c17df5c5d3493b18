"""The world-agnostic library every Longshot model reuses: the video U-ViT (pixel and latent), the noise schedule and
word tokenizer of models/PACKAGE.md, the frame autoencoder, the Python twin of the engine's sampler, checkpoints, the
training loop and the ONNX export helpers. It imports no world: a world (models/shapesworld, models/footage) brings
its data, vocabulary, conditioning and configs (test/architecture.test.ts holds it to that)."""
