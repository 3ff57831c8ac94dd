"""Offline speech recognition (Vosk); see issue 3."""
