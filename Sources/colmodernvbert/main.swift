print("colmodernvbert")
