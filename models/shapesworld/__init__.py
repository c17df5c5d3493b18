"""ShapesWorld v1: the procedural world the bundled model learns (its spec: ../shared/specs/shapesworld.md, beside the repository)."""
