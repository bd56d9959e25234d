/*
 * Parser internals shared by conf/parse.c (statements and blocks) and
 * conf/keys.c (the keyword tables and what each key does).
 */
#ifndef BTRSEND_CONF_PARSE_H
#define BTRSEND_CONF_PARSE_H

#include "conf/conf.h"
#include "conf/lex.h"

#define CONF_INCLUDE_DEPTH 16
#define CONF_FILE_MAX      (1 << 20)

struct conf_parser;
struct conf_kw;

/*
 * A key's handler reads the key's arguments.  It reports bad values
 * itself and returns 0 when the statement was consumed; -1 means the
 * statement's shape is wrong and the parser skips to the end of the line.
 */
typedef int conf_kw_fn(struct conf_parser *, const struct conf_kw *,
    void *obj, const struct conf_loc *kwloc);

#define CONF_KW_REPEAT   0x1	/* may appear more than once */
#define CONF_KW_REQUIRED 0x2	/* the block is incomplete without it */

struct conf_kw {
	const char	*name;
	conf_kw_fn	*fn;
	size_t		 off;	/* of the field in obj, for generic handlers */
	int		(*check)(const char *, const char **why);
	int		 flags;
};

struct conf_table {
	const struct conf_kw *kw;	/* sorted by name */
	size_t		 n;
};

#define CONF_TABLE_MAX 16

/* One instance of a block being parsed. */
struct conf_block {
	const char	*what;		/* "tls block", "job 'home'" */
	const struct conf_table *table;
	void		*obj;
	struct conf_loc	 seen[CONF_TABLE_MAX];	/* line 0: not seen yet */
};

/* A reference checked once the whole file is read. */
struct conf_ref {
	char		*name;
	struct conf_loc	 loc;
	size_t		 job;
};

struct conf_parser {
	struct conf	*conf;
	struct conf_errors *errs;
	struct conf_lex	*lx;		/* of the file being read */
	char		**files;	/* every file name read; locs point here */
	size_t		 nfiles;
	char		*stack[CONF_INCLUDE_DEPTH];	/* real paths */
	size_t		 depth;
	struct conf_block top;
	struct conf_loc	*target_locs;
	struct conf_loc	*job_locs;
	struct conf_ref	*refs;
	size_t		 nrefs;
	struct conf_loc	 tls_needed;	/* first target or receive */
};

extern const struct conf_table conf_top_table;

/* parse.c */
int	conf_parse_body(struct conf_parser *, struct conf_block *,
	    const struct conf_loc *open);
int	conf_parse_file(struct conf_parser *, const char *path,
	    const struct conf_loc *from);
int	conf_parse_buffer(struct conf_parser *, const char *name,
	    const char *buf, size_t len);
int	conf_arg(struct conf_parser *, const struct conf_kw *,
	    const struct conf_loc *kwloc, char **text, struct conf_loc *loc);
int	conf_more_args(struct conf_parser *);
int	conf_open_brace(struct conf_parser *, const char *what,
	    const struct conf_loc *kwloc, struct conf_loc *open);

/* keys.c */
struct conf	*conf_new(void);
void		 conf_check(struct conf_parser *);

#endif
