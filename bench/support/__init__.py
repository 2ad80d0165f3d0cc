"""What the benchmarks share: the system they start and the WebSocket clients they drive."""
