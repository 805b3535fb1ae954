// Processing module (in progress)
