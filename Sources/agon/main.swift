print("agon")
