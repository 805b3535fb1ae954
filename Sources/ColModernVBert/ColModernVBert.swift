// ColModernVBert module (in progress)
