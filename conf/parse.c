#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "conf/parse.h"
#include "proto/base/log.h"

void
conf_error(struct conf_errors *errs, const struct conf_loc *loc,
    const char *fmt, ...)
{
	char msg[1024], *full;
	va_list ap;
	int r;

	if (errs->n >= CONF_MAX_ERRORS) {
		errs->dropped++;
		return;
	}
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (loc->line > 0)
		r = asprintf(&full, "%s:%d:%d: %s", loc->file, loc->line,
		    loc->col, msg);
	else
		r = asprintf(&full, "%s: %s", loc->file, msg);
	if (r == -1)
		fatalx("out of memory");
	errs->msg = xrealloc(errs->msg, (errs->n + 1) * sizeof(*errs->msg));
	errs->msg[errs->n++] = full;
}

static const char *
conf_tok_desc(const struct conf_tok *t)
{
	switch (t->type) {
	case CONF_TOK_EOF:
		return "end of file";
	case CONF_TOK_NL:
		return "end of line";
	case CONF_TOK_LBRACE:
		return "'{'";
	case CONF_TOK_RBRACE:
		return "'}'";
	case CONF_TOK_STRING:
		return "a quoted string";
	default:
		return "a word";
	}
}

static int
conf_kw_cmp(const void *key, const void *elem)
{
	const struct conf_kw *kw = elem;

	return strcmp(key, kw->name);
}

static const struct conf_kw *
conf_kw_find(const struct conf_block *b, const char *word)
{
	return bsearch(word, b->table->kw, b->table->n, sizeof(struct conf_kw),
	    conf_kw_cmp);
}

static void
conf_skip_braces(struct conf_parser *p)
{
	const struct conf_tok *t;
	int depth = 0;

	do {
		t = conf_lex_peek(p->lx);
		if (t->type == CONF_TOK_EOF)
			return;
		if (t->type == CONF_TOK_LBRACE)
			depth++;
		else if (t->type == CONF_TOK_RBRACE)
			depth--;
		conf_lex_take(p->lx);
	} while (depth > 0);
}

/*
 * After a bad statement, skip what is left of it: up to the end of the
 * line, the block's '}', or the next keyword of the block (one-line
 * blocks hold several statements; skipping those would report their keys
 * as missing).  A nested { } is skipped whole.
 */
static void
conf_skip_args(struct conf_parser *p, const struct conf_block *b)
{
	const struct conf_tok *t;

	for (;;) {
		t = conf_lex_peek(p->lx);
		switch (t->type) {
		case CONF_TOK_EOF:
		case CONF_TOK_NL:
		case CONF_TOK_RBRACE:
			return;
		case CONF_TOK_LBRACE:
			conf_skip_braces(p);
			break;
		case CONF_TOK_WORD:
			if (conf_kw_find(b, t->text) != NULL)
				return;
			/* FALLTHROUGH */
		default:
			conf_lex_take(p->lx);
			break;
		}
	}
}

static size_t
conf_nerrors(const struct conf_parser *p)
{
	return p->errs->n + p->errs->dropped;
}

static void
conf_statement(struct conf_parser *p, struct conf_block *b)
{
	const struct conf_kw *kw;
	struct conf_loc loc = conf_lex_peek(p->lx)->loc;
	const char *word = conf_lex_peek(p->lx)->text;
	size_t i, nerr = conf_nerrors(p);

	if ((kw = conf_kw_find(b, word)) == NULL) {
		conf_error(p->errs, &loc, "unknown keyword '%s' in %s", word,
		    b->what);
		conf_lex_take(p->lx);
		conf_skip_args(p, b);
		return;
	}
	i = (size_t)(kw - b->table->kw);
	if (b->seen[i].line > 0 && !(kw->flags & CONF_KW_REPEAT))
		conf_error(p->errs, &loc, "duplicate '%s' in %s (first given "
		    "at %s:%d:%d)", kw->name, b->what, b->seen[i].file,
		    b->seen[i].line, b->seen[i].col);
	else if (b->seen[i].line == 0)
		b->seen[i] = loc;
	conf_lex_take(p->lx);
	/* Words left after a bad value are part of the same mistake. */
	if (kw->fn(p, kw, b->obj, &loc) == -1 || conf_nerrors(p) != nerr)
		conf_skip_args(p, b);
}

/*
 * Statements until the closing brace (open != NULL) or the end of the
 * file (top level).  Returns -1 if the block is not closed.
 */
int
conf_parse_body(struct conf_parser *p, struct conf_block *b,
    const struct conf_loc *open)
{
	const struct conf_tok *t;

	for (;;) {
		t = conf_lex_peek(p->lx);
		switch (t->type) {
		case CONF_TOK_NL:
			conf_lex_take(p->lx);
			break;
		case CONF_TOK_EOF:
			if (open == NULL)
				return 0;
			conf_error(p->errs, open, "missing '}' to close %s",
			    b->what);
			return -1;
		case CONF_TOK_RBRACE:
			if (open != NULL) {
				conf_lex_take(p->lx);
				return 0;
			}
			conf_error(p->errs, &t->loc, "unexpected '}' with no "
			    "block open");
			conf_lex_take(p->lx);
			break;
		case CONF_TOK_WORD:
			conf_statement(p, b);
			break;
		default:
			conf_error(p->errs, &t->loc, "expected a keyword in %s, "
			    "found %s", b->what, conf_tok_desc(t));
			conf_skip_args(p, b);
			break;
		}
	}
}

/* The next argument of a statement, which must be on the same line. */
int
conf_arg(struct conf_parser *p, const struct conf_kw *kw,
    const struct conf_loc *kwloc, char **text, struct conf_loc *loc)
{
	const struct conf_tok *t = conf_lex_peek(p->lx);

	if (t->type != CONF_TOK_WORD && t->type != CONF_TOK_STRING) {
		conf_error(p->errs, kwloc, "missing value after '%s' (found "
		    "%s)", kw->name, conf_tok_desc(t));
		return -1;
	}
	if (loc != NULL)
		*loc = t->loc;
	*text = xstrdup(t->text);
	conf_lex_take(p->lx);
	return 0;
}

/* 1 if another argument follows on the same line. */
int
conf_more_args(struct conf_parser *p)
{
	const struct conf_tok *t = conf_lex_peek(p->lx);

	return t->type == CONF_TOK_WORD || t->type == CONF_TOK_STRING;
}

/* '{', possibly on a following line. */
int
conf_open_brace(struct conf_parser *p, const char *what,
    const struct conf_loc *kwloc, struct conf_loc *open)
{
	const struct conf_tok *t;

	while ((t = conf_lex_peek(p->lx))->type == CONF_TOK_NL)
		conf_lex_take(p->lx);
	if (t->type != CONF_TOK_LBRACE) {
		conf_error(p->errs, kwloc, "%s: expected '{', found %s",
		    what, conf_tok_desc(t));
		return -1;
	}
	*open = t->loc;
	conf_lex_take(p->lx);
	return 0;
}

static char *
conf_keep_name(struct conf_parser *p, const char *name)
{
	p->files = xrealloc(p->files, (p->nfiles + 1) * sizeof(*p->files));
	return p->files[p->nfiles++] = xstrdup(name);
}

int
conf_parse_buffer(struct conf_parser *p, const char *name, const char *buf,
    size_t len)
{
	struct conf_lex lx, *outer = p->lx;
	int r;

	conf_lex_init(&lx, conf_keep_name(p, name), buf, len, p->errs);
	p->lx = &lx;
	r = conf_parse_body(p, &p->top, NULL);
	conf_lex_free(&lx);
	p->lx = outer;
	return r;
}

static char *
conf_read_fd(int fd, size_t *lenp, int *err)
{
	char *buf = NULL;
	size_t len = 0, cap = 0;
	ssize_t n;

	for (;;) {
		if (len == cap) {
			cap = cap ? cap * 2 : 4096;
			buf = xrealloc(buf, cap + 1);
		}
		n = read(fd, buf + len, cap - len);
		if (n == -1 && errno == EINTR)
			continue;
		if (n <= 0 || len + (size_t)n > CONF_FILE_MAX)
			break;
		len += (size_t)n;
	}
	if (n != 0) {
		*err = n == -1 ? errno : EFBIG;
		free(buf);
		return NULL;
	}
	buf[len] = '\0';
	*lenp = len;
	return buf;
}

/* O_NONBLOCK so that a FIFO named by mistake fails instead of hanging. */
static char *
conf_read_file(const char *path, size_t *lenp, int *err)
{
	struct stat st;
	char *buf;
	int fd;

	fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (fd == -1) {
		*err = errno;
		return NULL;
	}
	if (fstat(fd, &st) == -1 || !S_ISREG(st.st_mode)) {
		*err = S_ISDIR(st.st_mode) ? EISDIR : EINVAL;
		close(fd);
		return NULL;
	}
	buf = conf_read_fd(fd, lenp, err);
	close(fd);
	return buf;
}

static int
conf_push(struct conf_parser *p, const char *path, const struct conf_loc *at)
{
	char *real;
	size_t i;

	if (p->depth == CONF_INCLUDE_DEPTH) {
		conf_error(p->errs, at, "includes nested more than %d deep",
		    CONF_INCLUDE_DEPTH);
		return -1;
	}
	if ((real = realpath(path, NULL)) == NULL) {
		conf_error(p->errs, at, "%s: %s", path, strerror(errno));
		return -1;
	}
	for (i = 0; i < p->depth; i++)
		if (strcmp(p->stack[i], real) == 0) {
			conf_error(p->errs, at, "include loop: %s is already "
			    "being read", path);
			free(real);
			return -1;
		}
	p->stack[p->depth++] = real;
	return 0;
}

/* Read a file into the top level; `from` is the include statement. */
int
conf_parse_file(struct conf_parser *p, const char *path,
    const struct conf_loc *from)
{
	struct conf_loc loc = { path, 0, 0 };
	size_t len;
	char *buf;
	int err = 0, r;

	if ((buf = conf_read_file(path, &len, &err)) == NULL) {
		if (from != NULL)
			conf_error(p->errs, from, "cannot include %s: %s",
			    path, err == EINVAL ? "not a regular file" :
			    strerror(err));
		else
			conf_error(p->errs, &loc, "cannot read: %s",
			    err == EINVAL ? "not a regular file" : strerror(err));
		return -1;
	}
	if (conf_push(p, path, from != NULL ? from : &loc) == -1) {
		free(buf);
		return -1;
	}
	r = conf_parse_buffer(p, path, buf, len);
	free(p->stack[--p->depth]);
	free(buf);
	return r;
}

static void
conf_parser_init(struct conf_parser *p, struct conf_errors *errs)
{
	memset(p, 0, sizeof(*p));
	memset(errs, 0, sizeof(*errs));
	p->errs = errs;
	p->conf = conf_new();
	p->top.what = "the top level";
	p->top.table = &conf_top_table;
	p->top.obj = p->conf;
}

static struct conf *
conf_parser_done(struct conf_parser *p)
{
	struct conf *conf = p->conf;
	size_t i;

	conf_check(p);
	for (i = 0; i < p->nrefs; i++)
		free(p->refs[i].name);
	free(p->refs);
	free(p->target_locs);
	free(p->job_locs);
	for (i = 0; i < p->nfiles; i++)
		free(p->files[i]);
	free(p->files);
	if (p->errs->n > 0) {
		conf_free(conf);
		return NULL;
	}
	return conf;
}

struct conf *
conf_load(const char *path, struct conf_errors *errs)
{
	struct conf_parser p;

	conf_parser_init(&p, errs);
	p.conf->path = xstrdup(path);
	conf_parse_file(&p, path, NULL);
	return conf_parser_done(&p);
}

/*
 * Includes of a buffer resolve against dirname(name); loops back to name
 * itself are caught once it is read through a file.
 */
struct conf *
conf_load_buffer(const char *name, const char *buf, size_t len,
    struct conf_errors *errs)
{
	struct conf_parser p;

	conf_parser_init(&p, errs);
	p.conf->path = xstrdup(name);
	conf_parse_buffer(&p, name, buf, len);
	return conf_parser_done(&p);
}
