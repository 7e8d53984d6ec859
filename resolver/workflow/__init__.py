"""Workflow definitions (``workflows/*.yaml``) and the engine that runs disputes through them."""
