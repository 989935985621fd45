"""The committee's three members: classifier, Siamese encoder, patch-memory anomaly model."""
