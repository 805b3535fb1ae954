// WorkerPool module (in progress)
