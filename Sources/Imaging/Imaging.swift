// Imaging module (in progress)
