"""Container engine: build strategies, tag, run, inspect; progress events."""
