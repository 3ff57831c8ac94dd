"""The agent desk: HTTP API (and, later, the web page) for agents and supervisors."""
