"""The knowledge base: staff's articles and the Spanish search over the published ones (docs/knowledge-base.md)."""
