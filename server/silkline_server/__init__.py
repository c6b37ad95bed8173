"""silkline_server: the gRPC service, its storage and its log."""
