// Tokenizers module (in progress)
