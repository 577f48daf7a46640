// Layers: placeholder until the layer files land.
import AgonTensor
