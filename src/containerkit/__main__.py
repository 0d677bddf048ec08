from containerkit.cli.main import run

run()
