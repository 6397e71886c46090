// SPDX-License-Identifier: GPL-2.0-only
/*
 * bench-report: turn udmabuf-bench samples into the summary CSV, the
 * markdown report and the gnuplot script of tools/bench/run.
 *
 * Input: samples CSV, "group,backing,size,method,rep,metric,value".
 * Output, in the output directory:
 *   results.csv   group,backing,size,method,metric,n,median,min,p25,p75,max
 *                 for every measured metric, plus ratio rows whose metric is
 *                 "speedup_vs_<baseline>:<metric>": per rep, the baseline's
 *                 value divided by the method's (above 1: the method is
 *                 faster), then the statistics of those per-rep ratios;
 *   results.md    the tables and the goal verdicts;
 *   plot/NAME.dat the series the plots draw;
 *   plots.gp      the gnuplot script (run by tools/bench/run).
 */
#define _GNU_SOURCE
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof((a)[0]))
#define MAX_REPS	64

struct rec {
	char group[16], backing[16], method[16], metric[40];
	uint64_t size;
	int rep;
	double v;
};

static struct rec *recs;
static size_t nr_recs, cap_recs;

struct stats {
	int n;
	double median, min, p25, p75, max;
};

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

static double quantile(const double *v, int n, double q)
{
	double pos = q * (n - 1);
	int i = (int)pos;

	if (i + 1 >= n)
		return v[n - 1];
	return v[i] + (pos - i) * (v[i + 1] - v[i]);
}

static bool stats_of(double *v, int n, struct stats *s)
{
	memset(s, 0, sizeof(*s));
	if (!n)
		return false;
	qsort(v, n, sizeof(*v), cmp_double);
	s->n = n;
	s->min = v[0];
	s->max = v[n - 1];
	s->median = quantile(v, n, 0.5);
	s->p25 = quantile(v, n, 0.25);
	s->p75 = quantile(v, n, 0.75);
	return true;
}

static bool match(const struct rec *r, const char *g, const char *b,
		  uint64_t size, const char *m, const char *metric)
{
	return !strcmp(r->group, g) && !strcmp(r->backing, b) &&
	       r->size == size && !strcmp(r->method, m) &&
	       !strcmp(r->metric, metric);
}

/* Statistics of one metric over its reps. */
static bool get(const char *g, const char *b, uint64_t size, const char *m,
		const char *metric, struct stats *s)
{
	double v[MAX_REPS];
	int n = 0;
	size_t i;

	for (i = 0; i < nr_recs && n < MAX_REPS; i++)
		if (match(&recs[i], g, b, size, m, metric))
			v[n++] = recs[i].v;
	return stats_of(v, n, s);
}

/* The value of rep @rep, or NAN. */
static double value_at(const char *g, const char *b, uint64_t size,
		       const char *m, const char *metric, int rep)
{
	size_t i;

	for (i = 0; i < nr_recs; i++)
		if (recs[i].rep == rep && match(&recs[i], g, b, size, m, metric))
			return recs[i].v;
	return NAN;
}

/* Per-rep ratios base/method, then their statistics. */
static bool speedup(const char *g, const char *b, uint64_t size, const char *m,
		    const char *base, const char *metric, struct stats *s)
{
	double v[MAX_REPS];
	int n = 0, rep;

	for (rep = 0; rep < MAX_REPS; rep++) {
		double x = value_at(g, b, size, m, metric, rep);
		double y = value_at(g, b, size, base, metric, rep);

		if (!isnan(x) && !isnan(y) && x > 0)
			v[n++] = y / x;
	}
	return stats_of(v, n, s);
}

/* ---- distinct keys ------------------------------------------------------ */

static uint64_t sizes[64];
static int nr_sizes;

static void collect_sizes(const char *group)
{
	size_t i;
	int j, k;

	nr_sizes = 0;
	for (i = 0; i < nr_recs; i++) {
		if (strcmp(recs[i].group, group) || !recs[i].size)
			continue;
		for (j = 0; j < nr_sizes; j++)
			if (sizes[j] == recs[i].size)
				break;
		if (j == nr_sizes && nr_sizes < (int)ARRAY_SIZE(sizes))
			sizes[nr_sizes++] = recs[i].size;
	}
	for (j = 1; j < nr_sizes; j++)
		for (k = j; k > 0 && sizes[k - 1] > sizes[k]; k--) {
			uint64_t t = sizes[k];

			sizes[k] = sizes[k - 1];
			sizes[k - 1] = t;
		}
}

static bool have(const char *g, const char *b, const char *m)
{
	size_t i;

	for (i = 0; i < nr_recs; i++)
		if (!strcmp(recs[i].group, g) && !strcmp(recs[i].backing, b) &&
		    (!m || !strcmp(recs[i].method, m)) &&
		    strcmp(recs[i].metric, "error"))
			return true;
	return false;
}

/* ---- formatting --------------------------------------------------------- */

static const char *size_str(uint64_t s)
{
	static char buf[8][32];
	static int k;
	char *p = buf[k++ % 8];

	if (s >= (1ull << 30) && !(s % (1ull << 30)))
		snprintf(p, 32, "%llu GiB", (unsigned long long)(s >> 30));
	else if (s >= (1ull << 20) && !(s % (1ull << 20)))
		snprintf(p, 32, "%llu MiB", (unsigned long long)(s >> 20));
	else
		snprintf(p, 32, "%llu KiB", (unsigned long long)(s >> 10));
	return p;
}

static const char *time_str(double ns)
{
	static char buf[8][24];
	static int k;
	char *p = buf[k++ % 8];

	if (ns >= 1e9)
		snprintf(p, 24, "%.2f s", ns / 1e9);
	else if (ns >= 1e6)
		snprintf(p, 24, "%.3g ms", ns / 1e6);
	else
		snprintf(p, 24, "%.3g µs", ns / 1e3);
	return p;
}

static const char *ratio_str(const struct stats *s)
{
	static char buf[8][48];
	static int k;
	char *p = buf[k++ % 8];

	if (!s->n)
		return "–";
	snprintf(p, 48, "%.3g× (%.3g–%.3g)", s->median, s->min, s->max);
	return p;
}

static FILE *md;

static void mdf(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vfprintf(md, fmt, ap);
	va_end(ap);
}

/* ---- input -------------------------------------------------------------- */

static int load(const char *path)
{
	char line[512];
	FILE *f = fopen(path, "r");
	int lineno = 0;

	if (!f) {
		perror(path);
		return -1;
	}
	while (fgets(line, sizeof(line), f)) {
		struct rec r;
		unsigned long long size;
		char *nl = strchr(line, '\n');

		lineno++;
		if (nl)
			*nl = 0;
		if (lineno == 1 && !strncmp(line, "group,", 6))
			continue;
		if (!line[0])
			continue;
		memset(&r, 0, sizeof(r));
		if (sscanf(line, "%15[^,],%15[^,],%llu,%15[^,],%d,%39[^,],%lf",
			   r.group, r.backing, &size, r.method, &r.rep,
			   r.metric, &r.v) != 7 || r.rep < 0 || r.rep >= MAX_REPS) {
			fprintf(stderr, "%s:%d: malformed line '%s'\n", path,
				lineno, line);
			fclose(f);
			return -1;
		}
		r.size = size;
		if (nr_recs == cap_recs) {
			cap_recs = cap_recs ? 2 * cap_recs : 4096;
			recs = realloc(recs, cap_recs * sizeof(*recs));
			if (!recs) {
				fclose(f);
				return -1;
			}
		}
		recs[nr_recs++] = r;
	}
	fclose(f);
	return 0;
}

/* ---- results.csv -------------------------------------------------------- */

struct pair {
	const char *group, *method, *base, *metric;
};

static const struct pair pairs[] = {
	{ "create", "pin", "copy", "first_map_ns" },
	{ "create", "pin", "copy", "cycle_ns" },
	{ "create", "pin", "memcpy", "first_map_ns" },
	{ "create", "pin", "memcpy_rep", "first_map_ns" },
	{ "create", "move", "copy", "first_map_ns" },
	{ "create", "pin_ro", "pin", "create_ns" },
	{ "create", "copy", "memcpy", "first_map_ns" },
	{ "create", "memfd", "memfd_up", "create_ns" },
	{ "create", "memfd", "memfd_up", "map_ns" },
	{ "create", "memfd", "memfd_up", "first_map_ns" },
	{ "create", "memfd", "memfd_up", "cpu_ns" },
	{ "create", "memfd", "memfd_up", "use_ns" },
	{ "create", "memfd", "memfd_up", "release_ns" },
	{ "create", "memfd", "memfd_up", "cycle_ns" },
	{ "create", "memfd", "memfd_kernel", "create_ns" },
	{ "create", "memfd", "memfd_kernel", "map_ns" },
	{ "create", "memfd", "memfd_kernel", "first_map_ns" },
	{ "create", "memfd", "memfd_kernel", "cpu_ns" },
	{ "create", "memfd", "memfd_kernel", "use_ns" },
	{ "create", "memfd", "memfd_kernel", "release_ns" },
	{ "create", "memfd", "memfd_kernel", "cycle_ns" },
	{ "v4l2", "dmabuf", "mmap", "cpu_ns_per_frame" },
	{ "v4l2", "dmabuf", "mmap_memcpy", "cpu_ns_per_frame" },
	{ "v4l2", "dmabuf", "userptr", "cpu_ns_per_frame" },
	{ "v4l2", "dmabuf", "mmap", "guest_cpu_ns_per_frame" },
	{ "v4l2", "dmabuf", "mmap_memcpy", "guest_cpu_ns_per_frame" },
	{ "v4l2", "dmabuf", "userptr", "guest_cpu_ns_per_frame" },
};

static void print_stats_row(FILE *f, const struct rec *k, const char *metric,
			    const struct stats *s)
{
	fprintf(f, "%s,%s,%llu,%s,%s,%d,%.6g,%.6g,%.6g,%.6g,%.6g\n", k->group,
		k->backing, (unsigned long long)k->size, k->method, metric, s->n,
		s->median, s->min, s->p25, s->p75, s->max);
}

static int write_csv(const char *path)
{
	FILE *f = fopen(path, "w");
	size_t i, j;
	unsigned int p;

	if (!f) {
		perror(path);
		return -1;
	}
	fprintf(f, "group,backing,size,method,metric,n,median,min,p25,p75,max\n");
	for (i = 0; i < nr_recs; i++) {
		struct stats s;

		/* First occurrence of each key only. */
		for (j = 0; j < i; j++)
			if (match(&recs[j], recs[i].group, recs[i].backing,
				  recs[i].size, recs[i].method, recs[i].metric))
				break;
		if (j < i)
			continue;
		if (get(recs[i].group, recs[i].backing, recs[i].size,
			recs[i].method, recs[i].metric, &s))
			print_stats_row(f, &recs[i], recs[i].metric, &s);
		if (strcmp(recs[i].metric, "create_ns"))
			continue;
		/* Ratio rows, once per (group, backing, size, method). */
		for (p = 0; p < ARRAY_SIZE(pairs); p++) {
			char name[96];

			if (strcmp(pairs[p].group, recs[i].group) ||
			    strcmp(pairs[p].method, recs[i].method))
				continue;
			if (!speedup(recs[i].group, recs[i].backing, recs[i].size,
				     pairs[p].method, pairs[p].base,
				     pairs[p].metric, &s))
				continue;
			snprintf(name, sizeof(name), "speedup_vs_%s:%s",
				 pairs[p].base, pairs[p].metric);
			print_stats_row(f, &recs[i], name, &s);
		}
	}
	/* v4l2 has no create_ns: its ratio rows. */
	for (p = 0; p < ARRAY_SIZE(pairs); p++) {
		struct stats s;
		char name[96];

		if (strcmp(pairs[p].group, "v4l2"))
			continue;
		for (i = 0; i < nr_recs; i++)
			if (!strcmp(recs[i].group, "v4l2") &&
			    !strcmp(recs[i].method, pairs[p].method) &&
			    !strcmp(recs[i].metric, pairs[p].metric) &&
			    recs[i].rep == 0)
				break;
		if (i == nr_recs)
			continue;
		if (!speedup("v4l2", recs[i].backing, recs[i].size,
			     pairs[p].method, pairs[p].base, pairs[p].metric, &s))
			continue;
		snprintf(name, sizeof(name), "speedup_vs_%s:%s", pairs[p].base,
			 pairs[p].metric);
		print_stats_row(f, &recs[i], name, &s);
	}
	return fclose(f);
}

/* ---- plot data ------------------------------------------------------------ */

static const char * const backings[] = { "4k", "4kfrag", "thp", "hugetlb" };
static const char * const methods[] = {
	"pin", "pin_ro", "move", "copy", "memfd", "memfd_up", "memfd_kernel",
	"memcpy", "memcpy_rep",
};
static const char * const method_label[] = {
	"PIN", "PIN READ_ONLY (create only)", "MOVE", "COPY (in-kernel copy)",
	"memfd, udmabuf-ext", "memfd, upstream 6.1", "memfd, in-kernel udmabuf",
	"userspace memcpy", "userspace rep movsq",
};

/* The udmabuf the memfd path is compared with on @b: the kernel's own, upstream 6.1's, or NULL. */
static const char *memfd_ref(const char *b)
{
	if (have("create", b, "memfd_kernel"))
		return "memfd_kernel";
	if (have("create", b, "memfd_up"))
		return "memfd_up";
	return NULL;
}

static const char *ref_label(const char *ref)
{
	return !strcmp(ref, "memfd_kernel") ? "the in-kernel udmabuf" : "upstream 6.1";
}

static char outdir[4096];
static const char *label = "TCG guest time";

/* Write plot/NAME.dat: size, median, min, max of a metric or a speedup. */
static bool write_series(const char *name, const char *b, const char *m,
			 const char *base, const char *metric, double scale)
{
	char path[4200];
	FILE *f;
	int i, n = 0;

	snprintf(path, sizeof(path), "%s/plot/%s.dat", outdir, name);
	f = fopen(path, "w");
	if (!f)
		return false;
	fprintf(f, "# size median min max (%s %s %s%s%s)\n", b, m, metric,
		base ? " speedup vs " : "", base ? base : "");
	for (i = 0; i < nr_sizes; i++) {
		struct stats s;
		bool ok = base ? speedup("create", b, sizes[i], m, base, metric, &s) :
				 get("create", b, sizes[i], m, metric, &s);

		if (!ok)
			continue;
		fprintf(f, "%llu %g %g %g\n", (unsigned long long)sizes[i],
			s.median * scale, s.min * scale, s.max * scale);
		n++;
	}
	fclose(f);
	if (!n)
		remove(path);
	return n > 0;
}

/* A panel of a multiplot; only the first one has the (shared) key. */
static void gp_panel_begin(FILE *gp, const char *title, const char *ylabel,
			   bool logy, bool first)
{
	fprintf(gp, "set title '%s'\nset ylabel '%s'\n", title, ylabel);
	fprintf(gp, logy ? "set logscale y\n" : "unset logscale y\n");
	fprintf(gp, first ? "set key top left box opaque\n" : "unset key\n");
}

/*
 * A panel of a backing or method this run did not measure: gnuplot refuses
 * a plot with no valid point, so draw an empty frame with a note.
 */
static const char empty_panel[] =
	"set label 99 'not measured in this run' at graph 0.5, graph 0.5 center\n"
	"unset logscale y\nset xrange [1:2]\nset yrange [0:1]\n"
	"plot -1 notitle\n"
	"unset label 99\nset autoscale x\nset autoscale y\n";

/* The operations the memfd path is compared in, with its reference udmabuf. */
static const struct {
	const char *metric, *label, *head;
} memfd_ops[] = {
	{ "create_ns", "create", "create" },
	{ "map_ns", "first importer map (vgem PRIME import)", "first map" },
	{ "cpu_ns", "CPU access (mmap, sync, a load per page)", "CPU access" },
	{ "use_ns", "create + first map + CPU access", "create + map + CPU" },
};

/*
 * @png: the memfd path's speedup over @ref per operation, one panel per
 * backing measured with both.
 */
static void gp_vs_ref(FILE *gp, const char *ref, const char *png)
{
	unsigned int b, k;
	int n = 0;

	for (b = 0; b < ARRAY_SIZE(backings); b++)
		if (have("create", backings[b], "memfd") && have("create", backings[b], ref))
			n++;
	if (!n)
		return;
	fprintf(gp, "set terminal pngcairo size %d,460 font 'sans,8' noenhanced\n"
		"set output '%s'\nset multiplot layout 1,%d title "
		"'memfd path, speedup over %s = its time / udmabuf-ext''s, per rep: median, bars min..max; %s'\n",
		n > 2 ? 1600 : 900, png, n, ref_label(ref), label);
	n = 0;
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		char panel[128];
		bool any = false;

		if (!have("create", backings[b], "memfd") || !have("create", backings[b], ref))
			continue;
		snprintf(panel, sizeof(panel), "%s backing", backings[b]);
		gp_panel_begin(gp, panel, "speedup (x)", true, n++ == 0);
		for (k = 0; k < ARRAY_SIZE(memfd_ops); k++) {
			char name[96];

			snprintf(name, sizeof(name), "vs-%s-%s-%s", ref, backings[b],
				 memfd_ops[k].metric);
			if (!write_series(name, backings[b], "memfd", ref,
					  memfd_ops[k].metric, 1))
				continue;
			fprintf(gp, "%s 'plot/%s.dat' using 1:2:3:4 with yerrorlines ls %u title '%s'",
				any ? ", \\\n     " : "plot ", name, 21 + k,
				memfd_ops[k].label);
			any = true;
		}
		fprintf(gp, "%s1 with lines dt 2 lc 'black' notitle, 10 with lines dt 3 lc 'red' notitle\n",
			any ? ", \\\n     " : "plot ");
	}
	fprintf(gp, "unset multiplot\nset terminal pngcairo size 1600,460 font 'sans,8' noenhanced\n");
}

static int write_plots(void)
{
	char path[4200];
	FILE *gp;
	unsigned int b, m;
	bool any;

	snprintf(path, sizeof(path), "%s/plot", outdir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/plots.gp", outdir);
	gp = fopen(path, "w");
	if (!gp)
		return -1;
	fprintf(gp,
"# Generated by tools/bench/bench-report; run in %s.\n"
"set terminal pngcairo size 1600,460 font 'sans,8' noenhanced\n"
"set datafile commentschars '#'\n"
"set logscale x 2\n"
"set xtics ('4K' 4096, '16K' 16384, '64K' 65536, '256K' 262144, '1M' 1048576, "
"'4M' 4194304, '16M' 16777216, '64M' 67108864, '256M' 268435456, '1G' 1073741824)\n"
"set xlabel 'buffer size'\n"
"set grid\n"
"set key top left box opaque\n"
"set style data linespoints\n"
"set bars small\n"
"# one style per method, the same in every panel\n"
"set style line 1 lc rgb '#d62728' pt 7 lw 1.5\n"
"set style line 2 lc rgb '#ff9896' pt 6 lw 1 dt 2\n"
"set style line 3 lc rgb '#9467bd' pt 9 lw 1\n"
"set style line 4 lc rgb '#1f77b4' pt 5 lw 1.5\n"
"set style line 5 lc rgb '#2ca02c' pt 13 lw 1.5\n"
"set style line 6 lc rgb '#8c564b' pt 12 lw 1.5\n"
"set style line 7 lc rgb '#ff7f0e' pt 11 lw 1.5\n"
"set style line 8 lc rgb '#000000' pt 2 lw 1\n"
"set style line 9 lc rgb '#7f7f7f' pt 3 lw 1 dt 3\n"
"set style line 11 lc rgb '#1f77b4' pt 5 lw 1.5\n"
"set style line 12 lc rgb '#000000' pt 2 lw 1.5\n"
"set style line 13 lc rgb '#2ca02c' pt 13 lw 1.5\n"
"set style line 14 lc rgb '#ff7f0e' pt 11 lw 1.5\n"
"# the operations of the memfd comparisons\n"
"set style line 21 lc rgb '#1f77b4' pt 5 lw 1.5\n"
"set style line 22 lc rgb '#2ca02c' pt 13 lw 1.5\n"
"set style line 23 lc rgb '#d62728' pt 7 lw 1.5\n"
"set style line 24 lc rgb '#000000' pt 2 lw 2\n", outdir);

	/* 1. create-to-first-map latency, one panel per backing. */
	fprintf(gp, "set output 'first_map.png'\nset multiplot layout 1,4 title "
		"'create + first importer map (vgem PRIME import), median of reps; %s'\n", label);
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		char panel[128];

		snprintf(panel, sizeof(panel), "%s backing", backings[b]);
		gp_panel_begin(gp, panel, "latency (ms)", true, b == 0);
		any = false;
		for (m = 0; m < ARRAY_SIZE(methods); m++) {
			char name[96];
			const char *metric = !strcmp(methods[m], "pin_ro") ?
					     "create_ns" : "first_map_ns";

			snprintf(name, sizeof(name), "first_map-%s-%s",
				 backings[b], methods[m]);
			if (!write_series(name, backings[b], methods[m], NULL,
					  metric, 1e-6))
				continue;
			fprintf(gp, "%s 'plot/%s.dat' using 1:2 ls %u title '%s'",
				any ? ", \\\n     " : "plot ", name, m + 1,
				method_label[m]);
			any = true;
		}
		fprintf(gp, any ? "\n" : "%s", empty_panel);
	}
	fprintf(gp, "unset multiplot\n");

	/* 2. speedups, one panel per backing. */
	fprintf(gp, "set output 'speedup.png'\nset multiplot layout 1,4 title "
		"'speedup = alternative / udmabuf-ext, per-rep ratios: median, bars min..max; %s'\n",
		label);
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		static const struct { const char *m, *base, *label; } sp[] = {
			{ "pin", "copy", "PIN vs COPY" },
			{ "pin", "memcpy", "PIN vs userspace memcpy" },
			{ "memfd", "memfd_up", "memfd vs upstream 6.1" },
			{ "memfd", "memfd_kernel", "memfd vs the in-kernel udmabuf" },
		};
		unsigned int k;
		char panel[128];

		snprintf(panel, sizeof(panel), "%s backing: create + first map", backings[b]);
		gp_panel_begin(gp, panel, "speedup (x)", true, b == 0);
		any = false;
		for (k = 0; k < ARRAY_SIZE(sp); k++) {
			char name[96];

			snprintf(name, sizeof(name), "speedup-%s-%s-%s",
				 backings[b], sp[k].m, sp[k].base);
			if (!write_series(name, backings[b], sp[k].m, sp[k].base,
					  "first_map_ns", 1))
				continue;
			fprintf(gp, "%s 'plot/%s.dat' using 1:2:3:4 with yerrorlines ls %u title '%s'",
				any ? ", \\\n     " : "plot ", name, 11 + k, sp[k].label);
			any = true;
		}
			fprintf(gp, "%s1 with lines dt 2 lc 'black' notitle, 10 with lines dt 3 lc 'red' notitle\n",
			any ? ", \\\n     " : "plot ");
	}
	fprintf(gp, "unset multiplot\n");

	/* The memfd path against its reference, per operation. */
	gp_vs_ref(gp, "memfd_kernel", "vs-kernel.png");
	gp_vs_ref(gp, "memfd_up", "vs-upstream.png");

	/* 3. release latency. */
	fprintf(gp, "set output 'release.png'\nset multiplot layout 1,4 title "
		"'release (close fd + GEM handle: unmap, detach, release), median of reps; %s'\n",
		label);
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		char panel[128];

		snprintf(panel, sizeof(panel), "%s backing", backings[b]);
		gp_panel_begin(gp, panel, "latency (ms)", true, b == 0);
		any = false;
		for (m = 0; m < ARRAY_SIZE(methods); m++) {
			char name[96];

			snprintf(name, sizeof(name), "release-%s-%s",
				 backings[b], methods[m]);
			if (!write_series(name, backings[b], methods[m], NULL,
					  "release_ns", 1e-6))
				continue;
			fprintf(gp, "%s 'plot/%s.dat' using 1:2 ls %u title '%s'",
				any ? ", \\\n     " : "plot ", name, m + 1,
				method_label[m]);
			any = true;
		}
		fprintf(gp, any ? "\n" : "%s", empty_panel);
	}
	fprintf(gp, "unset multiplot\n");

	/* 4. metadata bytes per 4 KiB page. */
	fprintf(gp, "set key top right box opaque\nset output 'meta.png'\nset terminal pngcairo size 800,460 font 'sans,8' noenhanced\n"
		"set title 'kernel metadata per 4 KiB page (UDMABUF_EXT_INFO.meta_bytes / nr_pages)'\n"
		"set ylabel 'bytes per 4 KiB page'\nset logscale y\n");
	any = false;
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		static const char * const mm[] = { "pin", "memfd" };
		unsigned int k;

		for (k = 0; k < ARRAY_SIZE(mm); k++) {
			char name[96], dpath[4300];
			FILE *f;
			int i, n = 0;

			snprintf(name, sizeof(name), "meta-%s-%s", backings[b], mm[k]);
			snprintf(dpath, sizeof(dpath), "%s/plot/%s.dat", outdir, name);
			f = fopen(dpath, "w");
			if (!f)
				continue;
			for (i = 0; i < nr_sizes; i++) {
				struct stats mb, np;

				if (get("create", backings[b], sizes[i], mm[k], "meta_bytes", &mb) &&
				    get("create", backings[b], sizes[i], mm[k], "nr_pages", &np) &&
				    np.median > 0) {
					fprintf(f, "%llu %g\n", (unsigned long long)sizes[i],
						mb.median / np.median);
					n++;
				}
			}
			fclose(f);
			if (!n) {
				remove(dpath);
				continue;
			}
			fprintf(gp, "%s 'plot/%s.dat' using 1:2 title '%s, %s'",
				any ? ", \\\n     " : "plot ", name, backings[b], mm[k]);
			any = true;
		}
	}
	fprintf(gp, "%s8 with lines dt 2 lc 'black' title '8 B (goal, 4 KiB pages)', "
		"1 with lines dt 3 lc 'red' title '1 B (goal, huge pages)'\n",
		any ? ", \\\n     " : "plot ");

	/* 5. V4L2 CPU per frame. */
	{
		static const char * const vm[] = { "dmabuf", "userptr", "mmap", "mmap_memcpy" };
		static const char * const vl[] = {
			"DMABUF (heap + udmabuf-ext)", "USERPTR", "MMAP", "MMAP + memcpy",
		};
		char dpath[4300];
		FILE *f;
		unsigned int k;
		int n = 0;

		snprintf(dpath, sizeof(dpath), "%s/plot/v4l2.dat", outdir);
		f = fopen(dpath, "w");
		if (f) {
			for (k = 0; k < ARRAY_SIZE(vm); k++) {
				struct stats c, g;
				size_t i;

				for (i = 0; i < nr_recs; i++)
					if (!strcmp(recs[i].group, "v4l2") &&
					    !strcmp(recs[i].method, vm[k]))
						break;
				if (i == nr_recs ||
				    !get("v4l2", recs[i].backing, recs[i].size, vm[k],
					 "cpu_ns_per_frame", &c))
					continue;
				get("v4l2", recs[i].backing, recs[i].size, vm[k],
				    "guest_cpu_ns_per_frame", &g);
				fprintf(f, "%u \"%s\" %g %g %g %g %g %g\n", k, vl[k],
					c.median / 1e6, c.min / 1e6, c.max / 1e6,
					g.median / 1e6, g.min / 1e6, g.max / 1e6);
				n++;
			}
			fclose(f);
		}
		if (n) {
			fprintf(gp,
"set output 'v4l2.png'\nset terminal pngcairo size 900,460 font 'sans,8' noenhanced\n"
"set title 'vivid capture 1920x1080 YUYV: CPU time per frame (median, bars min..max; %s)'\n"
"unset logscale\nunset logscale x\nset format x '%%g'\nset xlabel ''\n"
"set ylabel 'ms per frame'\nset yrange [0:*]\nset xrange [-0.6:%d.6]\n"
"set style fill solid 0.6 border -1\nset boxwidth 0.35\n"
"set key top left\nset xtics rotate by 0\n"
"plot 'plot/v4l2.dat' using ($1-0.18):3:xtic(2) with boxes title 'this process (CLOCK_PROCESS_CPUTIME_ID)', \\\n"
"     '' using ($1-0.18):3:4:5 with yerrorbars lc 'black' pt 0 notitle, \\\n"
"     '' using ($1+0.18):6 with boxes title 'whole guest (/proc/stat, includes vivid''s thread)', \\\n"
"     '' using ($1+0.18):6:7:8 with yerrorbars lc 'black' pt 0 notitle\n",
				label, n - 1);
		}
	}
	return fclose(gp);
}

/* ---- results.md ------------------------------------------------------------ */

/* Median of a speedup, or NAN. */
static double sp_median(const char *b, uint64_t size, const char *m,
			const char *base, const char *metric)
{
	struct stats s;

	return speedup("create", b, size, m, base, metric, &s) ? s.median : NAN;
}

/*
 * Crossover of @m against @base on first_map: the smallest size from which
 * on the median speedup stays >= 1, interpolated log-linearly with the size
 * before it. Returns 0 if @m wins from the smallest size, -1 without data,
 * UINT64_MAX if it never wins.
 */
static double crossover(const char *b, const char *m, const char *base,
			int *state)
{
	int i, k = -1;

	for (i = nr_sizes - 1; i >= 0; i--) {
		double r = sp_median(b, sizes[i], m, base, "first_map_ns");

		if (isnan(r))
			continue;
		if (r < 1)
			break;
		k = i;
	}
	if (k < 0) {
		*state = i < 0 ? -1 : 2;	/* no data / never */
		return 0;
	}
	/* Find the measured size before k. */
	for (i = k - 1; i >= 0; i--)
		if (!isnan(sp_median(b, sizes[i], m, base, "first_map_ns")))
			break;
	if (i < 0) {
		*state = 0;	/* wins from the smallest size measured */
		return (double)sizes[k];
	}
	{
		double r0 = sp_median(b, sizes[i], m, base, "first_map_ns");
		double r1 = sp_median(b, sizes[k], m, base, "first_map_ns");
		double l0 = log((double)sizes[i]), l1 = log((double)sizes[k]);
		double t = (0 - log(r0)) / (log(r1) - log(r0));

		*state = 1;
		return exp(l0 + t * (l1 - l0));
	}
}

static const char *verdict(bool ok)
{
	return ok ? "**met**" : "**missed**";
}

static void md_latency_table(const char *b)
{
	static const char * const cols[] = {
		"pin", "pin_ro", "move", "copy", "memfd", "memfd_up",
		"memfd_kernel", "memcpy", "memcpy_rep",
	};
	static const char * const heads[] = {
		"PIN", "PIN RO¹", "MOVE", "COPY", "memfd", "memfd upstream",
		"memfd, kernel's own", "memcpy²", "rep movsq²",
	};
	unsigned int c;
	int i;

	mdf("\n| size |");
	for (c = 0; c < ARRAY_SIZE(cols); c++)
		if (have("create", b, cols[c]))
			mdf(" %s |", heads[c]);
	mdf("\n|---:|");
	for (c = 0; c < ARRAY_SIZE(cols); c++)
		if (have("create", b, cols[c]))
			mdf("---:|");
	mdf("\n");
	for (i = 0; i < nr_sizes; i++) {
		mdf("| %s |", size_str(sizes[i]));
		for (c = 0; c < ARRAY_SIZE(cols); c++) {
			struct stats s;
			const char *metric = !strcmp(cols[c], "pin_ro") ?
					     "create_ns" : "first_map_ns";

			if (!have("create", b, cols[c]))
				continue;
			if (get("create", b, sizes[i], cols[c], metric, &s))
				mdf(" %s |", time_str(s.median));
			else
				mdf(" – |");
		}
		mdf("\n");
	}
}

static void md_release_table(const char *b)
{
	static const char * const cols[] = {
		"pin", "pin_ro", "move", "copy", "memfd", "memfd_up",
		"memfd_kernel",
	};
	const char *ref = memfd_ref(b);
	unsigned int c;
	int i;

	mdf("\n| size |");
	for (c = 0; c < ARRAY_SIZE(cols); c++)
		if (have("create", b, cols[c]))
			mdf(" %s |", cols[c]);
	mdf(" memfd vs %s |\n|---:|", ref ? ref_label(ref) : "–");
	for (c = 0; c < ARRAY_SIZE(cols); c++)
		if (have("create", b, cols[c]))
			mdf("---:|");
	mdf("---:|\n");
	for (i = 0; i < nr_sizes; i++) {
		struct stats s;

		mdf("| %s |", size_str(sizes[i]));
		for (c = 0; c < ARRAY_SIZE(cols); c++) {
			if (!have("create", b, cols[c]))
				continue;
			if (get("create", b, sizes[i], cols[c], "release_ns", &s))
				mdf(" %s |", time_str(s.median));
			else
				mdf(" – |");
		}
		if (!ref || !speedup("create", b, sizes[i], "memfd", ref, "release_ns", &s))
			memset(&s, 0, sizeof(s));
		mdf(" %s |\n", ratio_str(&s));
	}
}

static void md_speedup_table(const char *b)
{
	static const struct { const char *m, *base, *metric, *head; } cols[] = {
		{ "pin", "copy", "first_map_ns", "PIN vs COPY" },
		{ "pin", "memcpy", "first_map_ns", "PIN vs memcpy" },
		{ "pin", "memcpy_rep", "first_map_ns", "PIN vs rep movsq" },
		{ "move", "copy", "first_map_ns", "MOVE vs COPY" },
		{ "memfd", "memfd_up", "first_map_ns", "memfd vs upstream" },
		{ "memfd", "memfd_up", "cycle_ns", "memfd vs upstream, create+map+release" },
		{ "memfd", "memfd_kernel", "first_map_ns", "memfd vs kernel's own" },
		{ "memfd", "memfd_kernel", "cycle_ns", "memfd vs kernel's own, create+map+release" },
	};
	unsigned int c;
	int i;

	mdf("\n| size |");
	for (c = 0; c < ARRAY_SIZE(cols); c++)
		if (have("create", b, cols[c].m) && have("create", b, cols[c].base))
			mdf(" %s |", cols[c].head);
	mdf("\n|---:|");
	for (c = 0; c < ARRAY_SIZE(cols); c++)
		if (have("create", b, cols[c].m) && have("create", b, cols[c].base))
			mdf("---:|");
	mdf("\n");
	for (i = 0; i < nr_sizes; i++) {
		mdf("| %s |", size_str(sizes[i]));
		for (c = 0; c < ARRAY_SIZE(cols); c++) {
			struct stats s;

			if (!have("create", b, cols[c].m) ||
			    !have("create", b, cols[c].base))
				continue;
			speedup("create", b, sizes[i], cols[c].m, cols[c].base,
				cols[c].metric, &s);
			mdf(" %s |", ratio_str(&s));
		}
		mdf("\n");
	}
}

/*
 * The memfd path against its reference udmabuf on @b, per operation: both
 * medians and the per-rep speedup.
 */
static void md_memfd_ref_table(const char *b)
{
	const char *ref = memfd_ref(b);
	unsigned int k;
	int i;

	if (!ref || !have("create", b, "memfd"))
		return;
	mdf("\n### memfd path: udmabuf-ext vs %s (median; speedup = %s ÷ udmabuf-ext per rep, median (min–max))\n\n| size |",
	    !strcmp(ref, "memfd_kernel") ? "the kernel's own udmabuf" : "upstream 6.1",
	    !strcmp(ref, "memfd_kernel") ? "kernel's" : "upstream's");
	for (k = 0; k < ARRAY_SIZE(memfd_ops); k++)
		mdf(" %s: ext | ref | speedup |", memfd_ops[k].head);
	mdf("\n|---:|");
	for (k = 0; k < ARRAY_SIZE(memfd_ops); k++)
		mdf("---:|---:|---:|");
	mdf("\n");
	for (i = 0; i < nr_sizes; i++) {
		mdf("| %s |", size_str(sizes[i]));
		for (k = 0; k < ARRAY_SIZE(memfd_ops); k++) {
			struct stats e, r, sp;

			if (get("create", b, sizes[i], "memfd", memfd_ops[k].metric, &e))
				mdf(" %s |", time_str(e.median));
			else
				mdf(" – |");
			if (get("create", b, sizes[i], ref, memfd_ops[k].metric, &r))
				mdf(" %s |", time_str(r.median));
			else
				mdf(" – |");
			if (!speedup("create", b, sizes[i], "memfd", ref,
				     memfd_ops[k].metric, &sp))
				memset(&sp, 0, sizeof(sp));
			mdf(" %s |", ratio_str(&sp));
		}
		mdf("\n");
	}
}

static void md_meta_table(void)
{
	unsigned int b;
	int i;

	mdf("\n| backing | size | mode | pages | segments | meta bytes | bytes per 4 KiB page |\n"
	    "|---|---:|---|---:|---:|---:|---:|\n");
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		static const char * const mm[] = { "pin", "memfd", "copy" };
		unsigned int k;

		for (k = 0; k < ARRAY_SIZE(mm); k++) {
			for (i = 0; i < nr_sizes; i++) {
				struct stats mb, np, ns;

				/* Smallest, 2 MiB and the largest size. */
				if (i != 0 && i != nr_sizes - 1 && sizes[i] != (2ull << 20))
					continue;
				if (!get("create", backings[b], sizes[i], mm[k], "meta_bytes", &mb) ||
				    !get("create", backings[b], sizes[i], mm[k], "nr_pages", &np) ||
				    !get("create", backings[b], sizes[i], mm[k], "nr_segments", &ns))
					continue;
				mdf("| %s | %s | %s | %.0f | %.0f | %.0f | %.3g |\n",
				    backings[b], size_str(sizes[i]), mm[k], np.median,
				    ns.median, mb.median, mb.median / np.median);
			}
		}
	}
}

/* The largest size with data for (b, m, metric). */
static int largest(const char *b, const char *m, const char *metric)
{
	int i;

	for (i = nr_sizes - 1; i >= 0; i--) {
		struct stats s;

		if (get("create", b, sizes[i], m, metric, &s))
			return i;
	}
	return -1;
}

/*
 * The lowest median speedup of the memfd path over @ref on @b for @metric,
 * over the sizes from @from on: its value (NAN without data) and *@at.
 */
static double memfd_worst(const char *b, const char *ref, const char *metric,
			  uint64_t from, uint64_t *at)
{
	double worst = NAN;
	int i;

	for (i = 0; i < nr_sizes; i++) {
		double r;

		if (sizes[i] < from)
			continue;
		r = sp_median(b, sizes[i], "memfd", ref, metric);
		if (!isnan(r) && (isnan(worst) || r < worst)) {
			worst = r;
			*at = sizes[i];
		}
	}
	return worst;
}

/*
 * Issue 13's goals for the memfd path against the kernel's own udmabuf
 * (6.12): at least 1.0x at every size and backing, at least 10x on THP and
 * hugetlb from 64 MiB; for each operation and for all three together.
 */
static void md_goals_kernel(void)
{
	static const struct {
		const char *what;
		double goal;
		uint64_t from;
		bool huge_only;
	} goals[] = {
		{ "≥ 1× at every size", 1, 0, false },
		{ "≥ 10× from 64 MiB", 10, 64ull << 20, true },
	};
	bool head = false, all_ok = true, any = false;
	unsigned int g, b, k;

	for (g = 0; g < ARRAY_SIZE(goals); g++) {
		for (b = 0; b < ARRAY_SIZE(backings); b++) {
			if (goals[g].huge_only && b < 2)
				continue;
			if (!have("create", backings[b], "memfd") ||
			    !have("create", backings[b], "memfd_kernel"))
				continue;
			if (!head) {
				mdf("- memfd path (UDMABUF_CREATE on /dev/udmabuf-ext) against the "
				    "kernel's own udmabuf, in the same guest: the lowest median "
				    "speedup per operation, and where.\n\n| goal | backing |");
				for (k = 0; k < ARRAY_SIZE(memfd_ops); k++)
					mdf(" %s |", memfd_ops[k].head);
				mdf("\n|---|---|");
				for (k = 0; k < ARRAY_SIZE(memfd_ops); k++)
					mdf("---|");
				mdf("\n");
				head = true;
			}
			mdf("| %s | %s |", goals[g].what, backings[b]);
			for (k = 0; k < ARRAY_SIZE(memfd_ops); k++) {
				uint64_t at = 0;
				double w = memfd_worst(backings[b], "memfd_kernel",
						       memfd_ops[k].metric,
						       goals[g].from, &at);

				if (isnan(w)) {
					mdf(" not measured |");
					continue;
				}
				mdf(" %s: %.3g× at %s |", verdict(w >= goals[g].goal),
				    w, size_str(at));
				all_ok &= w >= goals[g].goal;
				any = true;
			}
			mdf("\n");
		}
	}
	if (head)
		mdf("\n- memfd path against the kernel's own udmabuf, every goal above: %s.\n",
		    any ? verdict(all_ok) : "not measured");
}

static void md_goals(void)
{
	double worst;
	uint64_t worst_size = 0;
	int i, st;
	unsigned int b;

	mdf("\n## Goals\n\n"
	    "Speedups are per-rep ratios (alternative ÷ udmabuf-ext, same rep, same guest), "
	    "given as median (min–max).\n\n");
	md_goals_kernel();

	/* G1a: memfd vs upstream on 4 KiB pages. */
	for (b = 0; b < 2; b++) {
		worst = INFINITY;
		for (i = 0; i < nr_sizes; i++) {
			double r = sp_median(backings[b], sizes[i], "memfd",
					     "memfd_up", "first_map_ns");

			if (!isnan(r) && r < worst) {
				worst = r;
				worst_size = sizes[i];
			}
		}
		if (isfinite(worst))
			mdf("- memfd path on 4 KiB pages (%s) at least as fast as "
			    "upstream 6.1 (create + first map, every size): %s — "
			    "worst median speedup %.3g× at %s.\n", backings[b],
			    verdict(worst >= 1), worst, size_str(worst_size));
	}

	/* G1b: >= 10x on hugetlb/THP at >= 256 MiB. */
	for (b = 2; b < ARRAY_SIZE(backings); b++) {
		bool any = false, ok = true;

		for (i = 0; i < nr_sizes; i++) {
			struct stats s;

			if (sizes[i] < (256ull << 20))
				continue;
			if (!speedup("create", backings[b], sizes[i], "memfd",
				     "memfd_up", "first_map_ns", &s))
				continue;
			if (!any)
				mdf("- memfd path on %s, 256 MiB and up, at least 10× "
				    "faster than upstream:", backings[b]);
			mdf(" %s %s;", size_str(sizes[i]), ratio_str(&s));
			ok &= s.median >= 10;
			any = true;
		}
		if (any)
			mdf(" %s.\n", verdict(ok));
		else
			mdf("- memfd path on %s, 256 MiB and up: not measured in this run.\n",
			    backings[b]);
	}

	/* G2a: PIN >= 10x COPY / memcpy on THP >= 2 MiB. */
	{
		static const char * const bases[] = { "copy", "memcpy" };
		unsigned int k;

		for (k = 0; k < ARRAY_SIZE(bases); k++) {
			bool any = false, ok = true;
			double lo = INFINITY;
			uint64_t lo_size = 0;

			for (i = 0; i < nr_sizes; i++) {
				struct stats s;

				if (sizes[i] < (2ull << 20))
					continue;
				if (!speedup("create", "thp", sizes[i], "pin",
					     bases[k], "first_map_ns", &s))
					continue;
				any = true;
				ok &= s.median >= 10;
				if (s.median < lo) {
					lo = s.median;
					lo_size = sizes[i];
				}
			}
			if (any)
				mdf("- PIN at least 10× faster than %s on THP, 2 MiB and "
				    "up: %s — lowest median %.3g× at %s.\n",
				    !strcmp(bases[k], "copy") ?
				    "COPY (the in-kernel copy)" : "userspace memcpy",
				    verdict(ok), lo, size_str(lo_size));
		}
	}

	/* G2b: crossovers. */
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		static const char * const bases[] = { "copy", "memcpy" };
		unsigned int k;

		for (k = 0; k < ARRAY_SIZE(bases); k++) {
			double x = crossover(backings[b], "pin", bases[k], &st);

			if (st < 0)
				continue;
			mdf("- crossover, PIN vs %s, %s backing: ",
			    !strcmp(bases[k], "copy") ? "COPY" : "userspace memcpy",
			    backings[b]);
			if (st == 0)
				mdf("PIN is faster from the smallest size measured (%s)",
				    size_str((uint64_t)x));
			else if (st == 2)
				mdf("PIN is not faster at the largest sizes measured");
			else
				mdf("≈ %.0f KiB (interpolated)", x / 1024);
			if (!strcmp(bases[k], "copy") && b < 3)
				mdf(" — goal ≤ 64 KiB: %s", verdict(st == 0 || (st == 1 && x <= 65536)));
			mdf(".\n");
		}
	}

	/* G3: metadata. */
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		static const char * const mm[] = { "pin", "memfd" };
		unsigned int k;

		for (k = 0; k < ARRAY_SIZE(mm); k++) {
			struct stats mb, np, one;
			double limit = b < 2 ? 8 : 1, fixed = 0, per;

			i = largest(backings[b], mm[k], "meta_bytes");
			if (i < 0 ||
			    !get("create", backings[b], sizes[i], mm[k], "meta_bytes", &mb) ||
			    !get("create", backings[b], sizes[i], mm[k], "nr_pages", &np))
				continue;
			/* The per-buffer part: a one-page buffer less its one word. */
			if (get("create", backings[b], 4096, mm[k], "meta_bytes", &one))
				fixed = one.median - 8;
			per = (mb.median - fixed) / np.median;
			mdf("- metadata, %s, %s backing, at %s: %.0f bytes for %.0f pages: "
			    "%.0f bytes per buffer + %.3g bytes per 4 KiB page "
			    "(%.3g in all; goal ≤ %.0f per page): %s.\n",
			    mm[k], backings[b], size_str(sizes[i]), mb.median,
			    np.median, fixed, per, mb.median / np.median, limit,
			    verdict(per <= limit));
		}
	}

	/* G4: V4L2. */
	{
		struct stats a, c;
		size_t r;

		for (r = 0; r < nr_recs; r++)
			if (!strcmp(recs[r].group, "v4l2") &&
			    !strcmp(recs[r].method, "dmabuf") &&
			    strcmp(recs[r].metric, "error"))
				break;
		if (r < nr_recs &&
		    speedup("v4l2", recs[r].backing, recs[r].size, "dmabuf", "mmap",
			    "cpu_ns_per_frame", &a) &&
		    speedup("v4l2", recs[r].backing, recs[r].size, "dmabuf",
			    "mmap_memcpy", "cpu_ns_per_frame", &c))
			mdf("- V4L2 1080p capture into heap memory through udmabuf-ext, "
			    "process CPU per frame: vs MMAP %s (goal ≥ 1×: %s), vs MMAP + "
			    "memcpy %s (goal: well above 1×: %s).\n",
			    ratio_str(&a), verdict(a.median >= 1), ratio_str(&c),
			    verdict(c.median >= 2));
		else
			mdf("- V4L2: not measured in this run.\n");
	}
}

static void md_v4l2(void)
{
	static const char * const vm[] = { "dmabuf", "userptr", "mmap", "mmap_memcpy" };
	static const char * const vl[] = {
		"DMABUF, page-aligned heap memory through udmabuf-ext (PIN)", "USERPTR",
		"MMAP", "MMAP + memcpy to heap memory",
	};
	unsigned int k;
	size_t r;
	bool head = false;

	for (r = 0; r < nr_recs; r++)
		if (!strcmp(recs[r].group, "v4l2") && recs[r].size)
			break;
	if (r == nr_recs)
		return;
	for (k = 0; k < ARRAY_SIZE(vm); k++) {
		struct stats c, g, w, sc, sg;

		if (!get("v4l2", recs[r].backing, recs[r].size, vm[k],
			 "cpu_ns_per_frame", &c))
			continue;
		get("v4l2", recs[r].backing, recs[r].size, vm[k],
		    "guest_cpu_ns_per_frame", &g);
		get("v4l2", recs[r].backing, recs[r].size, vm[k],
		    "wall_ns_per_frame", &w);
		if (!head) {
			mdf("\n## V4L2 capture, vivid, 1920x1080 YUYV (%llu bytes per frame)\n\n"
			    "| method | process CPU per frame | whole guest CPU per frame | wall per frame | "
			    "process CPU: this ÷ DMABUF | guest CPU: this ÷ DMABUF |\n"
			    "|---|---:|---:|---:|---:|---:|\n",
			    (unsigned long long)recs[r].size);
			head = true;
		}
		if (strcmp(vm[k], "dmabuf")) {
			speedup("v4l2", recs[r].backing, recs[r].size, "dmabuf",
				vm[k], "cpu_ns_per_frame", &sc);
			speedup("v4l2", recs[r].backing, recs[r].size, "dmabuf",
				vm[k], "guest_cpu_ns_per_frame", &sg);
		} else {
			memset(&sc, 0, sizeof(sc));
			memset(&sg, 0, sizeof(sg));
		}
		/* /proc/stat counts ticks: nothing to count under -icount. */
		mdf("| %s | %s (%s–%s) | %s | %s | %s | %s |\n", vl[k],
		    time_str(c.median), time_str(c.min), time_str(c.max),
		    g.median > 0 ? time_str(g.median) : "–", time_str(w.median),
		    sc.n ? ratio_str(&sc) : "1",
		    g.median > 0 ? (sg.n ? ratio_str(&sg) : "1") : "–");
	}
}

static void md_errors(void)
{
	size_t i, j;
	bool head = false;

	for (i = 0; i < nr_recs; i++) {
		if (strcmp(recs[i].metric, "error"))
			continue;
		for (j = 0; j < i; j++)
			if (match(&recs[j], recs[i].group, recs[i].backing,
				  recs[i].size, recs[i].method, "error") &&
			    recs[j].v == recs[i].v)
				break;
		if (j < i)
			continue;
		if (!head) {
			mdf("\n## Failures\n\n");
			head = true;
		}
		mdf("- %s %s %s %s: %s\n", recs[i].group, recs[i].backing,
		    size_str(recs[i].size), recs[i].method,
		    strerror((int)recs[i].v));
	}
}

static int write_md(const char *path, const char *title)
{
	unsigned int b;

	md = fopen(path, "w");
	if (!md) {
		perror(path);
		return -1;
	}
	collect_sizes("create");
	mdf("# %s\n\nGenerated by tools/bench/run from the samples.csv next to this file; "
	    "every time is from the QEMU/TCG guest, so compare within a row, "
	    "not with native hardware.\n", title);
	md_goals();
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		if (!have("create", backings[b], NULL))
			continue;
		mdf("\n## %s backing\n\n### create + first importer map (median)\n",
		    backings[b]);
		md_latency_table(backings[b]);
		mdf("\n### speedups, create + first map: alternative ÷ udmabuf-ext, median (min–max)\n");
		md_speedup_table(backings[b]);
		md_memfd_ref_table(backings[b]);
		mdf("\n### release (median)\n");
		md_release_table(backings[b]);
	}
	mdf("\n¹ READ_ONLY: create only (vgem maps DMA_BIDIRECTIONAL, which a "
	    "read-only buffer refuses).  ² userspace copies of the same bytes "
	    "into a faulted-in buffer: glibc memcpy, and `rep movsq`, the "
	    "instruction the guest kernel's copy_from_user() uses.\n");
	mdf("\n## Kernel metadata and DMA segments (UDMABUF_EXT_INFO)\n");
	md_meta_table();
	md_v4l2();
	md_errors();
	return fclose(md);
}

/* ---- compare.md: this run against a baseline run ----------------------- */

static struct rec *base_recs;
static size_t nr_base_recs;

/* get() on the baseline's samples. */
static bool get_base(const char *g, const char *b, uint64_t size,
		     const char *m, const char *metric, struct stats *s)
{
	struct rec *r = recs;
	size_t n = nr_recs;
	bool ok;

	recs = base_recs;
	nr_recs = nr_base_recs;
	ok = get(g, b, size, m, metric, s);
	recs = r;
	nr_recs = n;
	return ok;
}

/* The smallest difference that counts: 1 %, or the runs' own spread. */
#define NOISE_FLOOR	0.01

/*
 * One (backing, size, method, metric) in both runs: the ratio of the
 * medians, baseline ÷ this run (above 1: this run is faster), and the noise,
 * the larger relative interquartile range of the two.
 */
static bool compare_one(const char *b, uint64_t size, const char *m,
			const char *metric, struct stats *old, struct stats *cur,
			double *ratio, double *noise)
{
	if (!get_base("create", b, size, m, metric, old) ||
	    !get("create", b, size, m, metric, cur) || cur->median <= 0 ||
	    old->median <= 0)
		return false;
	*ratio = old->median / cur->median;
	*noise = fmax(NOISE_FLOOR, fmax((old->p75 - old->p25) / old->median,
					(cur->p75 - cur->p25) / cur->median));
	return true;
}

static const char *change_str(double ratio, double noise)
{
	if (ratio < 1 - noise)
		return "slower";
	if (ratio > 1 + noise)
		return "faster";
	return "same";
}

static int write_compare(const char *dir, const char *base_path)
{
	static const char * const metrics[] = {
		"create_ns", "map_ns", "first_map_ns", "cpu_ns", "release_ns",
	};
	char path[4200];
	unsigned int b, m, k;
	FILE *csv;
	int i;

	snprintf(path, sizeof(path), "%s/compare.csv", dir);
	csv = fopen(path, "w");
	if (!csv) {
		perror(path);
		return -1;
	}
	snprintf(path, sizeof(path), "%s/compare.md", dir);
	md = fopen(path, "w");
	if (!md) {
		perror(path);
		fclose(csv);
		return -1;
	}
	collect_sizes("create");
	fprintf(csv, "backing,size,method,metric,n_base,median_base,n,median,ratio,noise,change\n");
	mdf("# This run against a baseline run\n\nBaseline: `%s`. Ratio = the baseline's "
	    "median ÷ this run's (above 1: this run is faster). Noise = the larger "
	    "interquartile range of the two runs relative to its median, at least %.0f %%; "
	    "a ratio further from 1 than the noise is a change (\"slower\", \"faster\").\n\n"
	    "## Summary per backing, method and metric, over the sizes\n\n"
	    "| backing | method | metric | sizes | lowest ratio | highest ratio | geometric mean | slower beyond noise |\n"
	    "|---|---|---|---:|---|---|---:|---|\n", base_path, NOISE_FLOOR * 100);
	for (b = 0; b < ARRAY_SIZE(backings); b++) {
		for (m = 0; m < ARRAY_SIZE(methods); m++) {
			for (k = 0; k < ARRAY_SIZE(metrics); k++) {
				double lo = INFINITY, hi = 0, lsum = 0, r, nz;
				uint64_t lo_at = 0, hi_at = 0;
				char slower[512] = "";
				size_t sl = 0;
				int n = 0;
				struct stats o, c;

				for (i = 0; i < nr_sizes; i++) {
					if (!compare_one(backings[b], sizes[i], methods[m],
							 metrics[k], &o, &c, &r, &nz))
						continue;
					fprintf(csv, "%s,%llu,%s,%s,%d,%.6g,%d,%.6g,%.4f,%.4f,%s\n",
						backings[b], (unsigned long long)sizes[i],
						methods[m], metrics[k], o.n, o.median, c.n,
						c.median, r, nz, change_str(r, nz));
					n++;
					lsum += log(r);
					if (r < lo) {
						lo = r;
						lo_at = sizes[i];
					}
					if (r > hi) {
						hi = r;
						hi_at = sizes[i];
					}
					if (!strcmp(change_str(r, nz), "slower") &&
					    sl < sizeof(slower) - 40)
						sl += snprintf(slower + sl, sizeof(slower) - sl,
							       "%s%s (%.3g, noise %.2g)",
							       sl ? ", " : "", size_str(sizes[i]),
							       r, nz);
				}
				if (!n)
					continue;
				mdf("| %s | %s | %s | %d | %.3g at %s | %.3g at %s | %.3g | %s |\n",
				    backings[b], methods[m], metrics[k], n, lo,
				    size_str(lo_at), hi, size_str(hi_at),
				    exp(lsum / n), sl ? slower : "none");
			}
		}
	}
	mdf("\nEvery value: `compare.csv` next to this file.\n");
	fclose(csv);
	return fclose(md);
}

static void usage(FILE *f)
{
	fprintf(f,
"Usage: bench-report [OPTIONS] SAMPLES.csv\n"
"\n"
"Summarize udmabuf-bench samples into OUTDIR: results.csv, results.md,\n"
"plot/*.dat and plots.gp (run gnuplot plots.gp in OUTDIR for the PNGs).\n"
"\n"
"  -o, --outdir DIR    where to write (default: the directory of SAMPLES)\n"
"  -t, --title TEXT    the report's title\n"
"  -l, --label TEXT    what the times are, for the plots (default: TCG guest\n"
"                      time)\n"
"  -b, --baseline FILE also compare with the samples of an earlier run with\n"
"                      the same settings (another module, say): OUTDIR/\n"
"                      compare.md and compare.csv\n"
"  -h, --help          this help\n");
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "outdir", required_argument, NULL, 'o' },
		{ "title", required_argument, NULL, 't' },
		{ "label", required_argument, NULL, 'l' },
		{ "baseline", required_argument, NULL, 'b' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	const char *title = "udmabuf-ext benchmark results", *baseline = NULL;
	char path[4200];
	int c;

	outdir[0] = 0;
	while ((c = getopt_long(argc, argv, "o:t:l:b:h", longopts, NULL)) != -1) {
		switch (c) {
		case 'o':
			snprintf(outdir, sizeof(outdir), "%s", optarg);
			break;
		case 't':
			title = optarg;
			break;
		case 'l':
			label = optarg;
			break;
		case 'b':
			baseline = optarg;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (optind != argc - 1) {
		usage(stderr);
		return 2;
	}
	if (!outdir[0]) {
		char *slash;

		snprintf(outdir, sizeof(outdir), "%s", argv[optind]);
		slash = strrchr(outdir, '/');
		if (slash)
			*slash = 0;
		else
			snprintf(outdir, sizeof(outdir), ".");
	}
	if (baseline) {
		if (load(baseline))
			return 1;
		base_recs = recs;
		nr_base_recs = nr_recs;
		recs = NULL;
		nr_recs = cap_recs = 0;
	}
	if (load(argv[optind]))
		return 1;
	if (!nr_recs) {
		fprintf(stderr, "bench-report: no samples in %s\n", argv[optind]);
		return 1;
	}
	snprintf(path, sizeof(path), "%s/results.csv", outdir);
	if (write_csv(path))
		return 1;
	collect_sizes("create");
	if (write_plots())
		return 1;
	snprintf(path, sizeof(path), "%s/results.md", outdir);
	if (write_md(path, title))
		return 1;
	if (baseline && write_compare(outdir, baseline))
		return 1;
	return 0;
}
