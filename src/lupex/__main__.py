from lupex.cli import main

main()
