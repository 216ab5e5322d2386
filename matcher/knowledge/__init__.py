"""The knowledge base: industrial systems, chains and parks as versioned, sourced data; GB/T 4754 classes."""
