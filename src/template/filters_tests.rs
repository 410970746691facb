//! Filters rendered through a strict environment, compared with ansible-core 2.19 output.

use minijinja::{context, Environment, UndefinedBehavior, Value};

fn env() -> Environment<'static> {
    let mut env = Environment::new();
    env.set_undefined_behavior(UndefinedBehavior::Strict);
    super::register(&mut env);
    env
}

fn eval(src: &str) -> String {
    eval_with(src, context! {})
}

fn eval_with(src: &str, ctx: Value) -> String {
    env().render_str(src, ctx).unwrap_or_else(|e| panic!("{src}: {e:#}"))
}

fn err(src: &str) -> String {
    match env().render_str(src, context! {}) {
        Ok(out) => panic!("{src} rendered {out:?}, expected an error"),
        Err(e) => format!("{e:#}"),
    }
}

#[test]
fn default_works_on_undefined_in_strict_mode() {
    assert_eq!(eval("{{ missing | default('x') }}"), "x");
    assert_eq!(eval("{{ missing | d('y') }}"), "y");
    assert_eq!(eval("{{ '' | default('z') }}|{{ '' | default('z', true) }}|{{ 0 | d(5, true) }}"), "|z|5");
    assert_eq!(eval("{{ 'set' | default('z', true) }}"), "set");
    assert_eq!(eval_with("{{ v | default('z') }}", context! { v => () }), "None");
    assert!(err("{{ missing }}").contains("undefined"));
}

#[test]
fn bool_follows_ansible_core() {
    assert_eq!(
        eval("{{ 'no' | bool }} {{ 'yes' | bool }} {{ 'On' | bool }} {{ 'TRUE' | bool }} {{ '1' | bool }}"),
        "False True True True True"
    );
    assert_eq!(
        eval("{{ 'off' | bool }} {{ 'false' | bool }} {{ '0' | bool }} {{ 1 | bool }} {{ 0 | bool }} {{ 1.0 | bool }}"),
        "False False False True False True"
    );
    // ansible-core 2.19 coerces unknown values (including 'y' and 't') to False.
    assert_eq!(
        eval("{{ 'y' | bool }} {{ 't' | bool }} {{ 'maybe' | bool }} {{ '' | bool }} {{ none | bool }}"),
        "False False False False False"
    );
    assert!(err("{{ missing | bool }}").contains("bool: the input is undefined"));
}

#[test]
fn int_and_float() {
    assert_eq!(
        eval("{{ '12.7' | int }} {{ '42' | int }} {{ 3.9 | int }} {{ 'abc' | int }} {{ true | int }}"),
        "12 42 3 0 1"
    );
    assert_eq!(
        eval("{{ '0x1F' | int(base=16) }} {{ '1F' | int(base=16) }} {{ '0b101' | int(0, 2) }} {{ 'x' | int(7) }}"),
        "31 31 5 7"
    );
    assert_eq!(eval("{{ ' 1_000 ' | int }} {{ '-5' | int }} {{ (('3' | int) + 1) }}"), "1000 -5 4");
    assert_eq!(
        eval("{{ '1.5' | float }} {{ 'abc' | float }} {{ 2 | float }} {{ 'x' | float(1.5) }}"),
        "1.5 0.0 2.0 1.5"
    );
}

#[test]
fn string_prints_like_python() {
    assert_eq!(eval("{{ 1.5 | string }} {{ true | string }} {{ none | string }} {{ [1, 'a'] | string }} {{ {'a': true} | string }}"), "1.5 True None [1, 'a'] {'a': True}");
    assert_eq!(eval("{{ 'abc' | upper }} {{ 'ABC' | lower }}"), "ABC abc");
}

#[test]
fn join_map_select() {
    assert_eq!(eval("{{ [1, 'a', true] | join(',') }}"), "1,a,True");
    assert_eq!(eval("{{ [{'n': 'a'}, {'n': 'b'}] | join(', ', attribute='n') }}"), "a, b");
    assert_eq!(eval("{{ ['a', 'b'] | map('upper') | join }}"), "AB");
    assert_eq!(eval("{{ [{'n': 'a'}, {'n': 'b'}] | map(attribute='n') | join('-') }}"), "a-b");
    assert_eq!(eval("{{ [1, 2, 3, 4] | select('odd') | join }} {{ [1, 2, 3] | reject('in', [2]) | join }}"), "13 13");
    let ctx = context! { hosts => vec![context! { name => "a", up => true }, context! { name => "b", up => false }] };
    assert_eq!(eval_with("{{ hosts | selectattr('up') | map(attribute='name') | join }}", ctx.clone()), "a");
    assert_eq!(eval_with("{{ hosts | rejectattr('up') | map(attribute='name') | join }}", ctx.clone()), "b");
    assert_eq!(
        eval_with("{{ hosts | selectattr('name', 'equalto', 'b') | map(attribute='up') | join }}", ctx),
        "False"
    );
}

#[test]
fn set_operations_keep_order() {
    assert_eq!(eval("{{ [3, 1, 2, 1] | unique | join(',') }}"), "3,1,2");
    assert_eq!(eval("{{ [1, 2, 3] | difference([2]) | join(',') }}"), "1,3");
    assert_eq!(eval("{{ [1, 2] | union([2, 3]) | join(',') }}"), "1,2,3");
    assert_eq!(eval("{{ [1, 2, 3] | intersect([3, 2]) | join(',') }}"), "2,3");
    assert_eq!(eval("{{ [1, 2] | symmetric_difference([2, 3]) | join(',') }}"), "1,3");
    assert!(err("{{ 5 | union([1]) }}").contains("union: expected a list, got int"));
}

#[test]
fn sort_flatten_zip_min_max() {
    assert_eq!(eval("{{ [3, 1, 2] | sort | join }} {{ [3, 1, 2] | sort(reverse=true) | join }}"), "123 321");
    assert_eq!(eval("{{ [{'n': 2}, {'n': 1}] | sort(attribute='n') | map(attribute='n') | join }}"), "12");
    assert_eq!(eval("{{ [1, [2, [3, [4]]], none, 'null'] | flatten | to_json }}"), "[1, 2, 3, 4]");
    assert_eq!(eval("{{ [1, [2, [3, [4]]]] | flatten(levels=1) | to_json }}"), "[1, 2, [3, [4]]]");
    assert_eq!(eval("{{ [1, 2, 3] | zip(['a', 'b']) | to_json }}"), r#"[[1, "a"], [2, "b"]]"#);
    assert_eq!(eval("{{ [1, 2] | zip_longest(['a'], fillvalue='-') | to_json }}"), r#"[[1, "a"], [2, "-"]]"#);
    assert_eq!(eval("{{ [{'n': 2}, {'n': 5}] | max(attribute='n') | to_json }}"), r#"{"n": 5}"#);
    assert_eq!(eval("{{ [{'n': 2}, {'n': 5}] | min(attribute='n') | to_json }}"), r#"{"n": 2}"#);
    assert_eq!(eval("{{ [3, 9, 1] | max }} {{ ['b', 'A', 'c'] | min }}"), "9 A");
}

#[test]
fn regex_filters() {
    assert_eq!(eval(r"{{ 'hello world' | regex_replace('(o)', '<\\1>') }}"), "hell<o> w<o>rld");
    assert_eq!(eval(r"{{ 'hello world 123' | regex_replace('(\\w+) (\\d+)', '\\2-\\1') }}"), "hello 123-world");
    assert_eq!(eval(r"{{ 'hello' | regex_replace('(?P<w>l)', '[\\g<w>]') }}"), "he[l][l]o");
    assert_eq!(
        eval("{{ 'ABC' | regex_replace('b', 'x', ignorecase=true) }} {{ 'aaa' | regex_replace('a', 'b', count=2) }}"),
        "AxC bba"
    );
    assert_eq!(eval("{{ 'cost' | regex_replace('o', '$1') }}"), "c$1st");
    assert_eq!(eval("{{ 'abcabc' | regex_search('b(c)') }}"), "bc");
    assert_eq!(eval("{{ 'abcabc' | regex_search('zz') is none }}"), "True");
    assert_eq!(
        eval(r"{{ 'hello world 123' | regex_search('(\\w+) (\\d+)', '\\2', '\\1') | to_json }}"),
        r#"["123", "world"]"#
    );
    assert_eq!(
        eval(r"{{ 'hello world 123' | regex_search('(?P<w>\\w+) (?P<d>\\d+)', '\\g<d>') | to_json }}"),
        r#"["123"]"#
    );
    assert_eq!(eval(r"{{ 'ab45 cd6' | regex_findall('([a-z]+)(\\d+)') | to_json }}"), r#"[["ab", "45"], ["cd", "6"]]"#);
    assert_eq!(
        eval(
            r"{{ 'ab45 cd6' | regex_findall('\\d+') | to_json }} {{ 'ab45' | regex_findall('[a-z](\\d)') | to_json }}"
        ),
        r#"["45", "6"] ["4"]"#
    );
    assert_eq!(eval("{{ 'a.b*c d' | regex_escape }} {{ 'a.b' | regex_escape('posix_basic') }}"), r"a\.b\*c\ d a\.b");
    assert!(err("{{ 'a' | regex_replace('(', 'x') }}").contains("regex_replace: invalid regular expression"));
    assert!(
        err("{{ 'aa' | regex_replace('a', 'b', mandatory_count=1) }}").contains("should match 1 times, but matches 2")
    );
}

#[test]
fn json_filters() {
    assert_eq!(eval("{{ {'b': 1, 'a': [1, 2]} | to_json }}"), r#"{"b": 1, "a": [1, 2]}"#);
    assert_eq!(eval("{{ 'é' | to_json }} {{ 1.0 | to_json }} {{ none | to_json }}"), r#""\u00e9" 1.0 null"#);
    assert_eq!(
        eval("{{ {'b': 1, 'a': [1, 2]} | to_nice_json }}"),
        "{\n    \"a\": [\n        1,\n        2\n    ],\n    \"b\": 1\n}"
    );
    assert_eq!(
        eval("{{ {'b': 1, 'a': 2} | to_nice_json(sort_keys=false, indent=2) }}"),
        "{\n  \"b\": 1,\n  \"a\": 2\n}"
    );
    assert_eq!(eval(r#"{{ ('{"a": [1, {"b": null}]}' | from_json).a[1].b is none }}"#), "True");
    let e = err("{{ '{\"a\": }' | from_json }}");
    assert!(e.contains("from_json: input is not valid JSON: expected value at line 1 column 7"), "{e}");
}

#[test]
fn yaml_filters() {
    assert_eq!(eval("{{ {'b': 1, 'a': [1, {'x': 2}], 'c': {}} | to_nice_yaml }}"), "a:\n- 1\n-   x: 2\nb: 1\nc: {}\n");
    assert_eq!(eval("{{ {'b': 1, 'a': [1, {'x': 2}], 'c': 'x y'} | to_yaml }}"), "a:\n- 1\n- {x: 2}\nb: 1\nc: x y\n");
    assert_eq!(eval("{{ {'a': 'x', 'b': 'yy'} | to_nice_yaml(indent=2) }}"), "a: x\nb: yy\n");
    assert_eq!(eval("{{ {'b': 1, 'a': 2} | to_nice_yaml(sort_keys=false) }}"), "b: 1\na: 2\n");
    assert_eq!(eval("{{ ['yes', '1', ''] | to_yaml }}"), "['yes', '1', '']\n");
    let src = "{% set d = 'a: 1\\nb: [x, yes, 0644]\\n' | from_yaml %}{{ d.a + 1 }} {{ d.b | to_json }}";
    assert_eq!(eval(src), r#"2 ["x", true, 420]"#);
    let e = err("{{ 'a: [1' | from_yaml }}");
    assert!(e.contains("from_yaml: input is not valid YAML"), "{e}");
}

#[test]
fn base64_hash_quote() {
    assert_eq!(eval("{{ 'héllo' | b64encode }} {{ 'aGk=' | b64decode }} {{ 'aGk' | b64decode }}"), "aMOpbGxv hi hi");
    assert_eq!(eval("{{ '??>' | b64encode(urlsafe=true) }}"), "Pz8-");
    assert!(err("{{ '!!!' | b64decode }}").contains("b64decode: input is not valid base64"));
    assert_eq!(eval("{{ 'abc' | hash('md5') }}"), "900150983cd24fb0d6963f7d28e17f72");
    assert_eq!(
        eval("{{ 'abc' | checksum }} {{ 'abc' | hash }}"),
        "a9993e364706816aba3e25717850c26c9cd0d89d a9993e364706816aba3e25717850c26c9cd0d89d"
    );
    assert_eq!(
        eval("{{ 'abc' | hash('sha256') }}"),
        "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
    );
    assert!(eval("{{ 'abc' | hash('sha512') }}").starts_with("ddaf35a193617aba"));
    assert!(err("{{ 'abc' | hash('crc') }}").contains("hash: unsupported hash type crc"));
    assert_eq!(
        eval("{{ 'x y' | quote }} {{ 'ab' | quote }} {{ '' | quote }} {{ \"it's\" | quote }}"),
        r#"'x y' ab '' 'it'\''s'"#
    );
}

#[test]
fn combine_and_dict_items() {
    let ctx = context! { a => context! { x => 1, l => vec![1], keep => "k" } };
    assert_eq!(
        eval_with("{{ {'a': {'x': 1}} | combine({'a': {'y': 2}}) | to_json }}", ctx.clone()),
        r#"{"a": {"y": 2}}"#
    );
    assert_eq!(
        eval_with("{{ {'a': a} | combine({'a': {'y': 2, 'l': [2]}}, recursive=true) | to_json }}", ctx.clone()),
        r#"{"a": {"x": 1, "l": [2], "keep": "k", "y": 2}}"#
    );
    assert_eq!(
        eval_with(
            "{{ {'a': a} | combine({'a': {'l': [2, 1]}}, recursive=true, list_merge='append_rp') | to_json }}",
            ctx.clone()
        ),
        r#"{"a": {"x": 1, "l": [2, 1], "keep": "k"}}"#
    );
    assert_eq!(
        eval("{{ {'a': 1} | combine({'b': 2}, {'a': 3}) | to_json }} {{ [{'a': 1}, {'b': 2}] | combine | to_json }}"),
        r#"{"a": 3, "b": 2} {"a": 1, "b": 2}"#
    );
    assert_eq!(eval("{{ {'l': [1]} | combine({'l': [2]}, list_merge='prepend') | to_json }}"), r#"{"l": [2, 1]}"#);
    assert!(err("{{ {'a': 1} | combine(5) }}")
        .contains("failed to combine variables, expected dicts but got a 'dict' and a 'int'."));
    assert!(err("{{ {'a': 1} | combine({}, deep=true) }}").contains("only valid keyword arguments"));
    assert_eq!(
        eval("{{ {'a': 1, 'b': 2} | dict2items | to_json }}"),
        r#"[{"key": "a", "value": 1}, {"key": "b", "value": 2}]"#
    );
    assert_eq!(eval("{{ {'a': 1} | dict2items(key_name='k', value_name='v') | to_json }}"), r#"[{"k": "a", "v": 1}]"#);
    assert_eq!(eval("{{ [{'k': 'a', 'v': 1}] | items2dict(key_name='k', value_name='v') | to_json }}"), r#"{"a": 1}"#);
    assert!(err("{{ [{'x': 1}] | items2dict }}")
        .contains("items2dict requires each dictionary in the list to contain the keys 'key' and 'value', got [{'x': 1}] instead."));
    assert!(err("{{ [1] | dict2items }}").contains("dict2items requires a dictionary, got <class 'list'> instead."));
}

#[test]
fn path_filters() {
    assert_eq!(eval("{{ '/a/b/c.txt' | basename }}|{{ '/a/b/' | basename }}|{{ '/a/b/c.txt' | dirname }}|{{ '/a/b/' | dirname }}|{{ 'f' | dirname }}|{{ '/' | dirname }}"), "c.txt||/a/b|/a/b||/");
    assert_eq!(eval("{{ '/a/b/c.tar.gz' | splitext | to_json }} {{ '.bashrc' | splitext | to_json }} {{ 'a/b' | splitext | to_json }}"), r#"["/a/b/c.tar", ".gz"] [".bashrc", ""] ["a/b", ""]"#);
    let home = std::env::var("HOME").unwrap_or_default();
    assert_eq!(eval("{{ '~/x' | expanduser }}"), format!("{}/x", home.trim_end_matches('/')));
    assert_eq!(eval("{{ '/etc' | expanduser }} {{ ['a', 'b', '/c', 'd'] | path_join }}"), "/etc /c/d");
}

#[test]
fn ternary_mandatory_type_debug() {
    assert_eq!(eval("{{ true | ternary('y', 'n') }} {{ 0 | ternary('y', 'n') }} {{ none | ternary('y', 'n', 'z') }} {{ none | ternary('y', 'n') }}"), "y n z n");
    assert_eq!(eval("{{ 'a' | type_debug }} {{ 1 | type_debug }} {{ [1] | type_debug }} {{ {} | type_debug }} {{ none | type_debug }} {{ true | type_debug }} {{ 1.5 | type_debug }}"), "str int list dict NoneType bool float");
    assert_eq!(eval_with("{{ x | mandatory }}", context! { x => "here" }), "here");
}

#[test]
fn mandatory_names_the_variable() {
    let mut env = env();
    env.add_template("t", "{{ ok | mandatory }} {{ cluster_name | mandatory }}").unwrap_or_else(|e| panic!("{e}"));
    let tmpl = env.get_template("t").unwrap_or_else(|e| panic!("{e}"));
    let e = format!("{:#}", tmpl.render(context! { ok => 1 }).err().unwrap_or_else(|| panic!("expected an error")));
    assert!(e.contains("Mandatory variable 'cluster_name' not defined"), "{e}");
    assert!(e.contains("Define it"), "{e}");
    let e = err("{{ x | mandatory('set x please') }}");
    assert!(e.contains("set x please"), "{e}");
    assert!(err("{{ x | mandatory }}").contains("Mandatory variable"));
}

#[test]
fn format_comment_version() {
    assert_eq!(eval("{{ '%s-%d' | format('a', 3) }} {{ '%05.1f' | format(3.14159) }}"), "a-3 003.1");
    assert_eq!(eval("{{ 'a\nb' | comment }}"), "#\n# a\n# b\n#");
    assert_eq!(eval("{{ 'a' | comment('c') }}"), "//\n// a\n//");
    assert_eq!(eval("{{ 'a' | comment('cblock') }}"), "/*\n *\n * a\n *\n */");
    assert_eq!(eval("{{ 'a' | comment('xml') }}"), "<!--\n -\n - a\n -\n-->");
    assert_eq!(eval("{{ 'a' | comment(decoration='; ', prefix_count=0, postfix_count=0) }}"), "; a");
    assert!(err("{{ 'a' | comment('lisp') }}").contains("comment: Invalid style 'lisp'."));
    assert_eq!(eval("{{ '1.10' | version_compare('1.9', '>') }} {{ '1.0' | version_compare('1.0.0', '==') }} {{ '3.4.0' | version('3.4.0', 'ge') }}"), "True False True");
}

#[test]
fn python_methods_work() {
    assert_eq!(eval("{{ 'abc'.startswith('a') }} {{ 'abc'.endswith('x') }} {{ '  x '.strip() }}|{{ 'a,b'.split(',') | join('+') }}"), "True False x|a+b");
    assert_eq!(
        eval(
            "{{ {'a': 1}.items() | list | to_json }} {{ {'a': 1}.keys() | list | to_json }} {{ {'a': 1}.get('b', 2) }}"
        ),
        r#"[["a", 1]] ["a"] 2"#
    );
    assert_eq!(eval("{{ '{}-{}'.format('a', 1) }} {{ 'ab'.upper() }} {{ 'a b'.replace(' ', '_') }}"), "a-1 AB a_b");
}

#[test]
fn errors_name_the_filter() {
    assert!(err("{{ missing | to_json }}").contains("to_json: the input is undefined"));
    assert!(err("{{ 5 | from_json }}").contains("from_json: expected a string, got int"));
    assert!(err("{{ 'x' | to_nice_yaml(bogus=1) }}").contains("to_nice_yaml"));
}
