"""Large values: codecs, object stores, the object lifecycle and garbage collection."""
