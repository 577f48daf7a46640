// Plot: placeholder.
import CCairo
