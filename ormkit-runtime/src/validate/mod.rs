//! Schema validation against schema.lock (issue 4, in progress).
