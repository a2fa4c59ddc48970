"""The revisions of the example plugin's branch (a package, so the wheel ships them)."""
