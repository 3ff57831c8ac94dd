"""Media worker: one process, one pjsua2 Endpoint, driven by the control plane over stdio."""
