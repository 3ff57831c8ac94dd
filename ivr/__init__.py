"""IVR: the call path — media workers, call flows, menus, queue and emergency transfer."""
