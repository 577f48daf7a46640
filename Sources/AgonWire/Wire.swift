// The wire layer: placeholder until its files land.
