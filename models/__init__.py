"""Longshot models: the ShapesWorld world, the video U-ViT, training and export."""
