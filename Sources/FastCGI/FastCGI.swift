// FastCGI module (in progress)
