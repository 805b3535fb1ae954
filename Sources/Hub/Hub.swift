// Hub module (in progress)
