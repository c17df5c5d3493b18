"""ShapesWorld v1: the procedural world the bundled model learns (../../shared/specs/shapesworld.md)."""
