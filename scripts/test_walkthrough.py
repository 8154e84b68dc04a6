#!/usr/bin/env python3
"""The walk-through runner's own tests: each rule of the convention, and that a doc which is
wrong fails at the right line (a runner that passes everything would prove nothing)."""
import contextlib, io, os, sys, tempfile, textwrap, unittest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import walkthrough  # noqa: E402


class WalkthroughTests(unittest.TestCase):
    def walk(self, text):
        """Runs a doc made of `text`; returns its summary, or raises walkthrough.Failure."""
        with tempfile.NamedTemporaryFile("w", suffix=".md", delete=False) as doc:
            doc.write(textwrap.dedent(text))
        self.addCleanup(os.unlink, doc.name)
        out = io.StringIO()
        with contextlib.redirect_stdout(out):
            walkthrough.walk(doc.name, keep=False)
        return out.getvalue()

    def fails_at(self, text, line):
        with self.assertRaises(walkthrough.Failure) as caught:
            self.walk(text)
        self.assertIn(f".md:{line}:", str(caught.exception))
        return str(caught.exception)

    def test_blocks_share_one_shell_and_output_is_compared(self):
        self.walk("""\
            ```sh
            mkdir -p a && cd a && greeting=hello
            ```

            ```sh
            echo "$greeting from $(basename "$PWD")"; echo warning >&2; printf 'x\\ny\\n'
            ```

            ```text
            hello from …
            warning
            …
            ```
            """)

    def test_a_different_output_fails_at_the_first_line_that_matches_nothing(self):
        self.fails_at("""\
            ```sh
            printf 'one\\ntwo\\n'
            ```

            ```text
            one
            three
            ```
            """, 7)

    def test_extra_output_fails(self):
        self.fails_at("""\
            ```sh
            printf 'one\\ntwo\\n'
            ```
            ```text
            one
            ```
            """, 5)

    def test_a_failing_command_fails_at_its_line(self):
        message = self.fails_at("""\
            ```sh
            true
            ls /no/such/folder
            echo never
            ```
            """, 3)
        self.assertNotIn("never", message)

    def test_a_command_failing_inside_sudo_fails_at_its_line(self):
        self.fails_at("""\
            ```sh
            true
            sudo -u gatehouse ls /no/such/folder
            ```
            """, 3)

    def test_exit_status_must_be_the_one_shown(self):
        self.walk("""\
            <!-- exit: 3 -->
            ```sh
            sh -c 'exit 3'
            ```
            """)
        self.fails_at("""\
            <!-- exit: 3 -->
            ```sh
            true
            ```
            """, 3)

    def test_an_example_captures_the_real_value_and_its_prefix_is_replaced(self):
        self.walk("""\
            ```sh
            echo "bundle $(head -c 16 /dev/urandom | od -An -tx1 | tr -d ' \\n')" | tee id.txt
            ```

            <!-- example: 5572b3af1cbbd3bf4653f53c88e9d2a5 -->
            ```text
            bundle 5572b3af1cbbd3bf4653f53c88e9d2a5
            ```

            ```sh
            grep -q "bundle 5572b3af" id.txt
            ```
            """)

    def test_input_and_terminal(self):
        self.walk("""\
            <!-- input: y -->
            ```sh
            read answer; echo "$answer"
            ```
            ```text
            y
            ```

            <!-- terminal: secret -->
            ```sh
            test -t 0 && read word && echo "$word"
            ```
            ```text
            secret
            ```
            """)

    def test_machines_have_their_own_folders_and_share_the_current_one(self):
        self.walk("""\
            <!-- machine: practice -->
            ```sh
            mkdir /var/lib/gatehouse && echo practice > /var/lib/gatehouse/who && echo note > shared.txt
            ```

            <!-- machine: prison -->
            ```sh
            test ! -e /var/lib/gatehouse/who && cat shared.txt
            ```
            ```text
            note
            ```
            """)

    def test_instead_runs_the_hidden_block_and_reports_its_reason(self):
        summary = self.walk("""\
            <!-- instead: no systemd here
            ```sh
            echo started > started.txt
            ```
            -->
            ```sh
            false
            ```

            ```sh
            cat started.txt
            ```
            ```text
            started
            ```
            """)
        self.assertIn(".md:7: no systemd here", summary)

    def test_a_command_in_an_indented_block_needs_a_reason(self):
        self.fails_at("""\
            Text.

                gatehouse status
            """, 3)
        summary = self.walk("""\
            <!-- not run: placeholders -->

                gatehouse keys revoke KEYID
            """)
        self.assertIn(".md:3: not run: placeholders", summary)


    def test_an_instead_reason_never_excuses_an_indented_command(self):
        self.fails_at("""\
            <!-- instead: no systemd -->
            ```sh
            systemctl start gatehouse
            ```

                gatehouse status
            """, 6)

    def test_a_command_in_another_fence_needs_a_reason(self):
        self.fails_at("""\
            ```bash
            $ gatehouse status
            ```
            """, 1)

    def test_a_comment_must_come_right_before_its_block(self):
        # Else an `instead` written above the wrong paragraph would swallow a later block.
        self.fails_at("""\
            <!-- instead: no systemd -->
            Then start it:

            ```sh
            false
            ```
            """, 1)

    def test_an_indented_sh_fence_is_refused(self):
        self.fails_at("""\
            1. Step one:

               ```sh
               gatehouse status
               ```
            """, 3)


if __name__ == "__main__":
    unittest.main(verbosity=1)
