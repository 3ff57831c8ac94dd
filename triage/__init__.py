"""Understanding the caller: emergency triage, request type, topic and handling unit (pure)."""
