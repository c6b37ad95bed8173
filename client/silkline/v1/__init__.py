# Generated code lives in this package: the *_pb2*.py and *.pyi files are
# written by `make proto` (proto/generate.py) and never edited by hand.
