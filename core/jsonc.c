/* A comment and trailing-comma blanker for JSONC. It keeps offsets, so
   spans found in the blanked text address the original text too: a
   rewrite can splice into the original and keep the user's comments. */
#include <string.h>

#include "core/jsonc.h"

/* Skip the string starting at p[i] (a quote); returns the index after
   its closing quote, or n when it is not closed. */
static size_t
skip_string(const char *p, size_t n, size_t i)
{
	for (i++; i < n; i++) {
		if (p[i] == '\\')
			i++;
		else if (p[i] == '"')
			return i + 1;
	}
	return n;
}

/* Blank p[from..to), keeping line breaks. */
static void
blank(char *p, size_t from, size_t to)
{
	for (; from < to; from++)
		if (p[from] != '\n' && p[from] != '\r')
			p[from] = ' ';
}

/* The comma at p[i] is trailing when the next thing after white space
   (comments are blank by then) closes an object or array. */
static int
trailing(const char *p, size_t n, size_t i)
{
	for (i++; i < n && strchr(" \t\r\n", p[i]) != NULL; i++)
		;
	return i < n && (p[i] == '}' || p[i] == ']');
}

int
jsonc_strip(char *p, size_t n, size_t *off)
{
	size_t i, j;

	/* Comments first, then commas: a comment may sit between a comma
	   and the bracket that makes it trailing. */
	for (i = 0; i < n;) {
		if (p[i] == '"') {
			i = skip_string(p, n, i);
		} else if (p[i] == '/' && i + 1 < n && p[i + 1] == '/') {
			for (j = i; j < n && p[j] != '\n'; j++)
				;
			blank(p, i, j);
			i = j;
		} else if (p[i] == '/' && i + 1 < n && p[i + 1] == '*') {
			for (j = i + 2; j + 1 < n; j++)
				if (p[j] == '*' && p[j + 1] == '/')
					break;
			if (j + 1 >= n) {
				*off = i;
				return -1;
			}
			blank(p, i, j + 2);
			i = j + 2;
		} else
			i++;
	}
	for (i = 0; i < n;) {
		if (p[i] == '"') {
			i = skip_string(p, n, i);
			continue;
		}
		if (p[i] == ',' && trailing(p, n, i))
			p[i] = ' ';
		i++;
	}
	return 0;
}
