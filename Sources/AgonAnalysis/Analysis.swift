// Analysis: placeholder until its files land.
