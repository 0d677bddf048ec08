from containerkit.cli import run

run()
