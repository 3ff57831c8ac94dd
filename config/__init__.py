"""Configuration: the shipped defaults (hotline.yaml, ivr.yaml) and their loaders."""
