from fair.cli import main

main()
