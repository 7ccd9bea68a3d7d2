"""The Qt window: a thin client of the engine. The only package that imports Qt."""
