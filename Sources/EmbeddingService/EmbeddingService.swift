// EmbeddingService module (in progress)
