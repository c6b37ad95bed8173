"""gRPC servicers: thin translations between the wire and the layers below."""
