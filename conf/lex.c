#include <stdlib.h>
#include <string.h>

#include "conf/lex.h"
#include "proto/base/log.h"

/* A growing byte buffer for one token's text. */
struct conf_text {
	char		*s;
	size_t		 len;
	size_t		 cap;
};

static void
conf_text_add(struct conf_text *t, char c)
{
	if (t->len + 1 >= t->cap) {
		t->cap = t->cap ? t->cap * 2 : 32;
		t->s = xrealloc(t->s, t->cap);
	}
	t->s[t->len++] = c;
	t->s[t->len] = '\0';
}

void
conf_lex_init(struct conf_lex *lx, const char *file, const char *buf,
    size_t len, struct conf_errors *errs)
{
	memset(lx, 0, sizeof(*lx));
	lx->file = file;
	lx->buf = buf;
	lx->len = len;
	lx->line = 1;
	lx->col = 1;
	lx->errs = errs;
}

static int
conf_lex_cur(const struct conf_lex *lx)
{
	return lx->pos < lx->len ? (unsigned char)lx->buf[lx->pos] : -1;
}

static void
conf_lex_advance(struct conf_lex *lx)
{
	if (lx->buf[lx->pos++] == '\n') {
		lx->line++;
		lx->col = 1;
	} else
		lx->col++;
}

static void
conf_lex_here(const struct conf_lex *lx, struct conf_loc *loc)
{
	loc->file = lx->file;
	loc->line = lx->line;
	loc->col = lx->col;
}

/* Control characters other than tab and newline are never meaningful. */
static int
conf_lex_bad_byte(struct conf_lex *lx, int c)
{
	struct conf_loc loc;

	if (c >= 0x20 || c == '\t' || c == '\n' || c == '\r' || c == -1)
		return 0;
	conf_lex_here(lx, &loc);
	conf_error(lx->errs, &loc, "invalid control character 0x%02x", c);
	conf_lex_advance(lx);
	return 1;
}

static void
conf_lex_blanks(struct conf_lex *lx)
{
	int c;

	for (;;) {
		c = conf_lex_cur(lx);
		if (c == ' ' || c == '\t' || c == '\r')
			conf_lex_advance(lx);
		else if (c == '#') {
			while ((c = conf_lex_cur(lx)) != -1 && c != '\n')
				conf_lex_advance(lx);
		} else if (!conf_lex_bad_byte(lx, c))
			return;
	}
}

static int
conf_lex_escape(struct conf_lex *lx, struct conf_text *t)
{
	struct conf_loc loc;
	int c;

	conf_lex_here(lx, &loc);
	conf_lex_advance(lx);		/* the backslash */
	c = conf_lex_cur(lx);
	switch (c) {
	case '"':
	case '\\':
		conf_text_add(t, (char)c);
		break;
	case 'n':
		conf_text_add(t, '\n');
		break;
	case 't':
		conf_text_add(t, '\t');
		break;
	case -1:
	case '\n':
		return -1;		/* reported as unterminated */
	default:
		conf_error(lx->errs, &loc, "unknown escape sequence '\\%c' in "
		    "string (use \\\", \\\\, \\n or \\t)", c >= 0x20 && c < 0x7f ?
		    c : '?');
		break;
	}
	conf_lex_advance(lx);
	return 0;
}

static void
conf_lex_string(struct conf_lex *lx, struct conf_text *t)
{
	int c;

	conf_lex_advance(lx);		/* the opening quote */
	conf_text_add(t, '\0');		/* "" is a valid, empty string */
	t->len = 0;
	for (;;) {
		c = conf_lex_cur(lx);
		if (c == '"') {
			conf_lex_advance(lx);
			return;
		}
		if (c == -1 || c == '\n' ||
		    (c == '\\' && conf_lex_escape(lx, t) == -1)) {
			conf_error(lx->errs, &lx->tok.loc,
			    "unterminated quoted string");
			return;
		}
		if (c == '\\' || conf_lex_bad_byte(lx, c))
			continue;
		conf_text_add(t, (char)c);
		conf_lex_advance(lx);
	}
}

static int
conf_lex_word_char(int c)
{
	return c >= 0x20 && c != ' ' && c != '{' && c != '}' && c != '"' &&
	    c != '#';
}

static void
conf_lex_word(struct conf_lex *lx, struct conf_text *t)
{
	int c;

	while ((c = conf_lex_cur(lx)) != -1 && conf_lex_word_char(c)) {
		conf_text_add(t, (char)c);
		conf_lex_advance(lx);
	}
}

static void
conf_lex_scan(struct conf_lex *lx)
{
	struct conf_text t = { NULL, 0, 0 };
	int c;

	conf_lex_blanks(lx);
	conf_lex_here(lx, &lx->tok.loc);
	lx->tok.text = NULL;
	c = conf_lex_cur(lx);
	if (c == -1) {
		lx->tok.type = CONF_TOK_EOF;
		return;
	}
	if (c == '\n' || c == '{' || c == '}') {
		lx->tok.type = c == '\n' ? CONF_TOK_NL :
		    c == '{' ? CONF_TOK_LBRACE : CONF_TOK_RBRACE;
		conf_lex_advance(lx);
		return;
	}
	if (c == '"') {
		lx->tok.type = CONF_TOK_STRING;
		conf_lex_string(lx, &t);
	} else {
		lx->tok.type = CONF_TOK_WORD;
		conf_lex_word(lx, &t);
	}
	lx->tok.text = t.s;
}

const struct conf_tok *
conf_lex_peek(struct conf_lex *lx)
{
	if (!lx->have_tok) {
		conf_lex_scan(lx);
		lx->have_tok = 1;
	}
	return &lx->tok;
}

void
conf_lex_take(struct conf_lex *lx)
{
	conf_lex_peek(lx);
	free(lx->tok.text);
	lx->tok.text = NULL;
	lx->have_tok = 0;
}

void
conf_lex_free(struct conf_lex *lx)
{
	free(lx->tok.text);
	lx->tok.text = NULL;
	lx->have_tok = 0;
}
