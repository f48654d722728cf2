# The benchmark chart (plot.sh feeds it): ns per operation by scenario at
# 1 and 2 threads (log scale), and 2-thread over 1-thread throughput.
# Variables: datafile (two blocks, see report.py plotdata), outfile, subtitle;
# an outfile ending in .png is drawn with pngcairo, anything else as SVG.
if (strlen(outfile) > 4 && outfile[strlen(outfile)-3:] eq ".png") {
	set terminal pngcairo size 1200,1000 enhanced font "Helvetica,10" background rgb "white"
} else {
	set terminal svg size 1200,1000 dynamic enhanced font "Helvetica,11" background rgb "white"
}
set output outfile
set datafile missing "?"
set multiplot layout 2,1 title "libquota benchmark\n{/*0.8 ".subtitle."}" font ",14"

set style data histograms
set style histogram clustered gap 1
set style fill solid 0.85 border rgb "#333333"
set boxwidth 0.9
set grid ytics lc rgb "#dddddd"
set xtics rotate by 40 right scale 0 font ",9" nomirror
set bmargin 7
set key outside top center horizontal

set title "ns per operation (median of the repetitions, per thread; log scale)"
set logscale y 10
set format y "%g"
set ylabel "ns per op"
set yrange [0.1:*]
plot datafile index 0 using 2:xtic(1) title "1 thread" lc rgb "#4477aa", \
     '' index 0 using 3 title "2 threads" lc rgb "#ee6677"

set title "scaling: ops/s at 2 threads over ops/s at 1 thread (2 = perfect)"
unset logscale y
set format y "%.1f"
set ylabel "x 1-thread ops/s"
set yrange [0:2.6]
plot datafile index 1 using 2:xtic(1) title "2 threads / 1 thread" lc rgb "#228833", \
     2 with lines dt 2 lw 1.5 lc rgb "#666666" title "perfect", \
     1.7 with lines dt 3 lw 1.5 lc rgb "#aa3377" title "goal, disjoint keys (1.7x)", \
     0.5 with lines dt 4 lw 1.5 lc rgb "#ccbb44" title "goal, hot bucket (0.5x)"
unset multiplot
