"""Offline speech recognition with Vosk: models, recognizers, the streaming service."""
