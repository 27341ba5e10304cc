"""The long runs of the fault suite (``make soak``): thousands of messages, many kills, minutes of faults."""
