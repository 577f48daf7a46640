// Training: placeholder.
import AgonNN
